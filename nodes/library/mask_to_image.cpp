// MaskToImage: a mask as a grey image (the same value in red, green and blue).
#include <diffgraph/tensor_values.hpp>

#include <diffgraph/plugin.hpp>

namespace diffgraph::nodes {

namespace {

NodeSpec mask_to_image() {
  NodeSpec spec;
  spec.type = "MaskToImage";
  spec.display_name = "Convert Mask to Image";
  spec.category = "mask";
  spec.description = "The masks as grey images: each mask value copied into red, green and blue.";
  spec.inputs = {InputSpec::link("mask", "MASK")};
  spec.outputs = {{"IMAGE", "IMAGE", "[B, H, W, 3]"}};
  spec.execute = [](NodeContext& ctx) {
    const torch::Tensor& mask = ctx.get<MaskValue>("mask")->mask();
    ctx.set_output("IMAGE", make_value<ImageValue>(mask.unsqueeze(-1).expand({-1, -1, -1, 3}).contiguous()));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(mask_to_image);

}  // namespace diffgraph::nodes
