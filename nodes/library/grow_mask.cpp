// GrowMask: grows (or, with a negative expand, shrinks) masks by whole pixels, as ComfyUI's
// grey-scale dilation/erosion does.
#include <diffgraph/tensor_values.hpp>

#include <diffgraph/plugin.hpp>
#include "pipeline/image_ops.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec grow_mask_node() {
  NodeSpec spec;
  spec.type = "GrowMask";
  spec.display_name = "Grow Mask";
  spec.category = "mask";
  spec.description =
      "Grows the masks by `expand` pixels (a negative value shrinks them): each step takes the maximum (minimum) "
      "over the 3x3 neighbourhood, or over a plus shape with tapered_corners, which rounds the corners.";
  spec.inputs = {InputSpec::link("mask", "MASK"),
                 InputSpec::integer("expand", 0).range(-kMaxResolution, kMaxResolution, 1).describe("pixels; negative shrinks"),
                 InputSpec::boolean("tapered_corners", true).describe("grow by a plus shape instead of a square")};
  spec.outputs = {{"MASK", "MASK", "the grown or shrunk masks"}};
  spec.execute = [](NodeContext& ctx) {
    const std::int64_t expand = ctx.get_int("expand");
    if (expand == 0) {
      ctx.set_output("MASK", ctx.input("mask"));
      return;
    }
    const torch::Tensor& mask = ctx.get<MaskValue>("mask")->mask();
    ctx.set_output("MASK", make_value<MaskValue>(grow_mask(mask, expand, ctx.get_bool("tapered_corners")).contiguous()));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(grow_mask_node);

}  // namespace diffgraph::nodes
