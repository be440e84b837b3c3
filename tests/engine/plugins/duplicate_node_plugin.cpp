// Registers a node type the good plugin already has.
#include <diffgraph/plugin.hpp>

using namespace diffgraph;

DIFFGRAPH_PLUGIN(registrar) {
  registrar.set_info("duplicate", "1", "test plugin");
  NodeSpec spec;
  spec.type = "MakeToken";
  spec.outputs = {{"INT", "INT", ""}};
  spec.execute = [](NodeContext& ctx) { ctx.set_output("INT", make_value<IntValue>(1)); };
  registrar.add_node(std::move(spec));
}
