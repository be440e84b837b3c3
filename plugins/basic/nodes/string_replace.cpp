// StringReplace: replaces every occurrence of a text.
#include <diffgraph/plugin.hpp>

namespace diffgraph::basic {

NodeSpec string_replace_node() {
  NodeSpec spec;
  spec.type = "StringReplace";
  spec.display_name = "Replace Text";
  spec.category = "text";
  spec.description = "Replaces every occurrence of `find` in `text` by `replace` (nothing when `find` is empty).";
  spec.inputs = {InputSpec::text("text").multiline_text(), InputSpec::text("find"), InputSpec::text("replace")};
  spec.outputs = {{"STRING", "STRING", "the text after replacement"}};
  spec.execute = [](NodeContext& ctx) {
    std::string text = ctx.get_string("text");
    const std::string& find = ctx.get_string("find");
    const std::string& replace = ctx.get_string("replace");
    if (!find.empty()) {
      std::string out;
      std::size_t pos = 0;
      for (std::size_t hit; (hit = text.find(find, pos)) != std::string::npos; pos = hit + find.size())
        out.append(text, pos, hit - pos).append(replace);
      out.append(text, pos);
      text = std::move(out);
    }
    ctx.set_output("STRING", make_value<StringValue>(std::move(text)));
  };
  return spec;
}

DIFFGRAPH_NODE(string_replace_node);

}  // namespace diffgraph::basic
