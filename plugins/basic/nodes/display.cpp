// Display: shows any value's summary in the editor and the CLI's output.
#include <diffgraph/plugin.hpp>

namespace diffgraph::basic {

NodeSpec display_node() {
  NodeSpec spec;
  spec.type = "Display";
  spec.category = "utils";
  spec.description = "Shows the value it receives (its one-line summary).";
  spec.output_node = true;
  spec.inputs = {InputSpec::link("value", "*")};
  spec.execute = [](NodeContext& ctx) {
    ctx.add_result({{"text", ctx.input("value")->summary()}});
  };
  return spec;
}

DIFFGRAPH_NODE(display_node);

}  // namespace diffgraph::basic
