// ThresholdMask: a hard mask, 1 where the value is above the threshold, else 0.
#include <diffgraph/tensor_values.hpp>

#include <diffgraph/plugin.hpp>

namespace diffgraph::nodes {

namespace {

NodeSpec threshold_mask() {
  NodeSpec spec;
  spec.type = "ThresholdMask";
  spec.display_name = "Threshold Mask";
  spec.category = "mask";
  spec.description = "1 where the mask is strictly above `value`, 0 elsewhere.";
  spec.inputs = {InputSpec::link("mask", "MASK"), InputSpec::number("value", 0.5).range(0.0, 1.0, 0.01)};
  spec.outputs = {{"MASK", "MASK", "the binary masks"}};
  spec.execute = [](NodeContext& ctx) {
    const torch::Tensor& mask = ctx.get<MaskValue>("mask")->mask();
    ctx.set_output("MASK", make_value<MaskValue>(mask.gt(ctx.get_float("value")).to(torch::kFloat)));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(threshold_mask);

}  // namespace diffgraph::nodes
