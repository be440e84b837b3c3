// LoadImageMask: one channel of a picture file as a MASK (ComfyUI's node): alpha is inverted
// (1 = transparent), the colour channels are taken as they are.
#include <diffgraph/tensor_values.hpp>

#include <diffgraph/plugin.hpp>
#include "pipeline/file_names.hpp"
#include "pipeline/image_io.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec load_image_mask() {
  NodeSpec spec;
  spec.type = "LoadImageMask";
  spec.display_name = "Load Image (as Mask)";
  spec.category = "mask";
  spec.description =
      "Loads one channel of a picture's first frame as a mask. For alpha the mask is 1 - alpha (zeros when "
      "the file is opaque); red, green and blue are used directly.";
  spec.inputs = {InputSpec::text("image")
                     .describe("the file: a path (absolute or relative to the working directory) or a name in the "
                               "input folder")
                     .options_from([](const Environment& environment) {
                       return list_input_files(environment, image_file_extensions());
                     }),
                 InputSpec::choice("channel", {"alpha", "red", "green", "blue"})};
  spec.outputs = {{"MASK", "MASK", "the channel, float [1, H, W] in [0, 1]"}};
  spec.fingerprint = input_file_fingerprint("image", "image");
  spec.execute = [](NodeContext& ctx) {
    const auto path = resolve_input_file(ctx.get_string("image"), ctx.environment(), "image");
    const std::string& channel = ctx.get_string("channel");
    DecodedImage decoded = read_image_file(path);
    torch::Tensor mask;
    if (channel == "alpha") {
      // An opaque file has alpha 1 everywhere, so nothing is masked.
      mask = decoded.alpha.defined() ? 1.0f - decoded.alpha.slice(0, 0, 1)
                                     : torch::zeros({1, decoded.rgb.size(1), decoded.rgb.size(2)}, torch::kFloat);
    } else {
      const std::int64_t index = channel == "red" ? 0 : channel == "green" ? 1 : channel == "blue" ? 2 : -1;
      if (index < 0) throw NodeError("unknown channel '" + channel + "' (choose alpha, red, green or blue)");
      mask = decoded.rgb.slice(0, 0, 1).select(-1, index).contiguous();
    }
    ctx.set_output("MASK", make_value<MaskValue>(std::move(mask)));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(load_image_mask);

}  // namespace diffgraph::nodes
