// ImageToMask: one colour channel of the images as a mask.
#include <diffgraph/tensor_values.hpp>

#include <diffgraph/plugin.hpp>

namespace diffgraph::nodes {

namespace {

NodeSpec image_to_mask() {
  NodeSpec spec;
  spec.type = "ImageToMask";
  spec.display_name = "Convert Image to Mask";
  spec.category = "mask";
  spec.description =
      "One channel of the images as a mask. IMAGE values are RGB, so alpha is an error: the transparency of a "
      "loaded file is LoadImage's MASK output.";
  spec.inputs = {InputSpec::link("image", "IMAGE"), InputSpec::choice("channel", {"red", "green", "blue", "alpha"})};
  spec.outputs = {{"MASK", "MASK", "the channel, [B, H, W]"}};
  spec.execute = [](NodeContext& ctx) {
    const std::string& channel = ctx.get_string("channel");
    const std::int64_t index = channel == "red" ? 0 : channel == "green" ? 1 : channel == "blue" ? 2 : -1;
    if (channel == "alpha")
      throw NodeError("channel alpha: IMAGE values have only red, green and blue; take LoadImage's MASK output "
                      "for a file's transparency");
    if (index < 0) throw NodeError("unknown channel '" + channel + "' (choose red, green or blue)");
    const torch::Tensor& image = ctx.get<ImageValue>("image")->pixels();
    ctx.set_output("MASK", make_value<MaskValue>(image.select(-1, index).contiguous()));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(image_to_mask);

}  // namespace diffgraph::nodes
