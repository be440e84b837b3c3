// Registers a node, then throws: nothing of it may be kept.
#include <stdexcept>

#include <diffgraph/plugin.hpp>

using namespace diffgraph;

DIFFGRAPH_PLUGIN(registrar) {
  NodeSpec spec;
  spec.type = "NeverRegistered";
  spec.outputs = {{"INT", "INT", ""}};
  spec.execute = [](NodeContext& ctx) { ctx.set_output("INT", make_value<IntValue>(1)); };
  registrar.add_node(std::move(spec));
  throw std::runtime_error("configuration file missing");
}
