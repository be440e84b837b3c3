// SolidMask: a mask of one value everywhere.
#include <diffgraph/tensor_values.hpp>

#include <diffgraph/plugin.hpp>
#include "pipeline/image_ops.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec solid_mask() {
  NodeSpec spec;
  spec.type = "SolidMask";
  spec.display_name = "Solid Mask";
  spec.category = "mask";
  spec.description = "A [1, height, width] mask filled with `value`.";
  spec.inputs = {InputSpec::number("value", 1.0).range(0.0, 1.0, 0.01),
                 InputSpec::integer("width", 512).range(1, kMaxResolution, 1),
                 InputSpec::integer("height", 512).range(1, kMaxResolution, 1)};
  spec.outputs = {{"MASK", "MASK", "the filled mask"}};
  spec.execute = [](NodeContext& ctx) {
    const std::int64_t width = ctx.get_int("width"), height = ctx.get_int("height");
    if (width < 1 || width > kMaxResolution) throw NodeError("width " + std::to_string(width) + " is out of range 1..16384");
    if (height < 1 || height > kMaxResolution)
      throw NodeError("height " + std::to_string(height) + " is out of range 1..16384");
    ctx.set_output("MASK", make_value<MaskValue>(torch::full({1, height, width}, ctx.get_float("value"), torch::kFloat)));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(solid_mask);

}  // namespace diffgraph::nodes
