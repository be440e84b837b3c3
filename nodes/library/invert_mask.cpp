// InvertMask: 1 - mask, so the selected and unselected parts swap.
#include <diffgraph/tensor_values.hpp>

#include <diffgraph/plugin.hpp>

namespace diffgraph::nodes {

namespace {

NodeSpec invert_mask() {
  NodeSpec spec;
  spec.type = "InvertMask";
  spec.display_name = "Invert Mask";
  spec.category = "mask";
  spec.description = "1 - mask: what was selected is not, and the reverse.";
  spec.inputs = {InputSpec::link("mask", "MASK")};
  spec.outputs = {{"MASK", "MASK", "the inverted mask"}};
  spec.execute = [](NodeContext& ctx) {
    ctx.set_output("MASK", make_value<MaskValue>(1.0f - ctx.get<MaskValue>("mask")->mask()));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(invert_mask);

}  // namespace diffgraph::nodes
