// Int, Float, String, Boolean: a constant typed in a widget, offered as an output so several
// nodes can share one value.
#include <diffgraph/plugin.hpp>

namespace diffgraph::basic {

namespace {

NodeSpec constant_node(std::string type, InputSpec widget, std::string description) {
  NodeSpec spec;
  spec.type = std::move(type);
  spec.category = "primitives";
  spec.description = std::move(description);
  const std::string output_type = widget.type;
  spec.inputs = {std::move(widget)};
  spec.outputs = {{output_type, output_type, "the value"}};
  spec.execute = [output_type](NodeContext& ctx) { ctx.set_output(output_type, ctx.input("value")); };
  return spec;
}

}  // namespace

NodeSpec int_node() {
  return constant_node("Int", InputSpec::integer("value", 0), "An integer constant.");
}
NodeSpec float_node() {
  return constant_node("Float", InputSpec::number("value", 0.0), "A floating-point constant.");
}
NodeSpec string_node() {
  return constant_node("String", InputSpec::text("value").multiline_text(), "A text constant.");
}
NodeSpec boolean_node() {
  return constant_node("Boolean", InputSpec::boolean("value", false), "A true/false constant.");
}

DIFFGRAPH_NODE(int_node);
DIFFGRAPH_NODE(float_node);
DIFFGRAPH_NODE(string_node);
DIFFGRAPH_NODE(boolean_node);

}  // namespace diffgraph::basic
