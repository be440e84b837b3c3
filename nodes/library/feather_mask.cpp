// FeatherMask: fades masks out linearly towards chosen edges.
//
// ComfyUI's loop for the right and bottom edges indexes `-x` from x = 0, so its first step
// scales the *first* column/row and the outermost one gets 2/right instead of 1/right. This
// node fades the right and bottom edges as the mirror image of the left and top ones.
#include <algorithm>

#include <diffgraph/tensor_values.hpp>

#include <diffgraph/plugin.hpp>
#include "pipeline/image_ops.hpp"

namespace diffgraph::nodes {

namespace {

// Per-position factors along one axis of `size`: ramps 1/near .. 1 from the start and
// 1 .. 1/far towards the end (products where the two overlap).
torch::Tensor edge_ramp(std::int64_t size, std::int64_t near, std::int64_t far) {
  near = std::min(near, size);
  far = std::min(far, size);
  std::vector<float> factors(static_cast<std::size_t>(size), 1.0f);
  for (std::int64_t i = 0; i < near; ++i) factors[i] *= static_cast<float>(i + 1) / static_cast<float>(near);
  for (std::int64_t i = 0; i < far; ++i) factors[size - 1 - i] *= static_cast<float>(i + 1) / static_cast<float>(far);
  return torch::tensor(factors, torch::kFloat);
}

NodeSpec feather_mask() {
  NodeSpec spec;
  spec.type = "FeatherMask";
  spec.display_name = "Feather Mask";
  spec.category = "mask";
  spec.description =
      "Fades the masks linearly to 0 over the given number of pixels from each edge: the outermost pixel is scaled "
      "by 1/n, the n-th from the edge keeps its value.";
  spec.inputs = {InputSpec::link("mask", "MASK"),
                 InputSpec::integer("left", 0).range(0, kMaxResolution, 1),
                 InputSpec::integer("top", 0).range(0, kMaxResolution, 1),
                 InputSpec::integer("right", 0).range(0, kMaxResolution, 1),
                 InputSpec::integer("bottom", 0).range(0, kMaxResolution, 1)};
  spec.outputs = {{"MASK", "MASK", "the feathered masks"}};
  spec.execute = [](NodeContext& ctx) {
    const std::int64_t left = ctx.get_int("left"), top = ctx.get_int("top");
    const std::int64_t right = ctx.get_int("right"), bottom = ctx.get_int("bottom");
    if (left < 0 || top < 0 || right < 0 || bottom < 0) throw NodeError("feather widths must not be negative");
    if (left == 0 && top == 0 && right == 0 && bottom == 0) {
      ctx.set_output("MASK", ctx.input("mask"));
      return;
    }
    const torch::Tensor& mask = ctx.get<MaskValue>("mask")->mask();
    const torch::Tensor rows = edge_ramp(mask.size(1), top, bottom).to(mask.device()).view({-1, 1});
    const torch::Tensor columns = edge_ramp(mask.size(2), left, right).to(mask.device()).view({1, -1});
    ctx.set_output("MASK", make_value<MaskValue>(mask * (rows * columns)));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(feather_mask);

}  // namespace diffgraph::nodes
