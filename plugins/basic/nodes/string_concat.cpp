// StringConcat: joins two texts with a separator.
#include <diffgraph/plugin.hpp>

namespace diffgraph::basic {

NodeSpec string_concat_node() {
  NodeSpec spec;
  spec.type = "StringConcat";
  spec.display_name = "Concatenate Text";
  spec.category = "text";
  spec.description = "a + separator + b.";
  spec.inputs = {InputSpec::text("a"), InputSpec::text("b"), InputSpec::text("separator", "")};
  spec.outputs = {{"STRING", "STRING", "the joined text"}};
  spec.execute = [](NodeContext& ctx) {
    ctx.set_output("STRING",
                   make_value<StringValue>(ctx.get_string("a") + ctx.get_string("separator") + ctx.get_string("b")));
  };
  return spec;
}

DIFFGRAPH_NODE(string_concat_node);

}  // namespace diffgraph::basic
