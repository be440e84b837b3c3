// ReadTextFile: reads a UTF-8 text file. Its fingerprint (size, mtime, hash) makes the cache
// notice when the file changes, although the graph does not.
#include <fstream>
#include <sstream>

#include <diffgraph/fingerprint.hpp>

#include <diffgraph/plugin.hpp>

namespace diffgraph::basic {

NodeSpec read_text_file_node() {
  NodeSpec spec;
  spec.type = "ReadTextFile";
  spec.display_name = "Read Text File";
  spec.category = "text";
  spec.description = "The contents of a text file; re-read whenever the file changes.";
  spec.inputs = {InputSpec::text("path").describe("file to read (relative to the working directory)")};
  spec.outputs = {{"STRING", "STRING", "the file's text"}};
  spec.fingerprint = [](const std::map<std::string, Literal>& literals, const Environment&) {
    auto it = literals.find("path");
    if (it == literals.end() || !std::holds_alternative<std::string>(it->second)) return std::string();
    return file_fingerprint(std::get<std::string>(it->second));
  };
  spec.execute = [](NodeContext& ctx) {
    const std::string& path = ctx.get_string("path");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw NodeError("cannot open text file '" + path + "'");
    std::ostringstream text;
    text << in.rdbuf();
    ctx.set_output("STRING", make_value<StringValue>(text.str()));
  };
  return spec;
}

DIFFGRAPH_NODE(read_text_file_node);

}  // namespace diffgraph::basic
