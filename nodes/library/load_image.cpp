// LoadImage: a picture file as an IMAGE, and its transparency as a MASK (1 - alpha), as in
// ComfyUI. Re-read whenever the file changes: its fingerprint is the file's.
#include <diffgraph/tensor_values.hpp>

#include <diffgraph/plugin.hpp>
#include "pipeline/file_names.hpp"
#include "pipeline/image_io.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec load_image() {
  NodeSpec spec;
  spec.type = "LoadImage";
  spec.display_name = "Load Image";
  spec.category = "image";
  spec.description =
      "Loads a picture (PNG, JPEG, BMP, GIF, TGA, PSD, HDR, PNM). An animated GIF gives one image per frame. "
      "The MASK is 1 - alpha, or zeros [1, 64, 64] when the file has no alpha channel.";
  spec.inputs = {InputSpec::text("image")
                     .describe("the file: a path (absolute or relative to the working directory) or a name in "
                               "the input folder (setting input_dir, default ./input)")
                     .options_from([](const Environment& environment) {
                       return list_input_files(environment, image_file_extensions());
                     })};
  spec.outputs = {{"IMAGE", "IMAGE", "the picture, float [frames, H, W, 3] in [0, 1]"},
                  {"MASK", "MASK", "1 - alpha (1 where the picture is transparent)"}};
  spec.fingerprint = input_file_fingerprint("image", "image");
  spec.execute = [](NodeContext& ctx) {
    const auto path = resolve_input_file(ctx.get_string("image"), ctx.environment(), "image");
    DecodedImage decoded = read_image_file(path);
    torch::Tensor mask = decoded.alpha.defined() ? 1.0f - decoded.alpha
                                                 : torch::zeros({decoded.rgb.size(0), 64, 64}, torch::kFloat);
    ctx.set_output("IMAGE", make_value<ImageValue>(std::move(decoded.rgb)));
    ctx.set_output("MASK", make_value<MaskValue>(std::move(mask)));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(load_image);

}  // namespace diffgraph::nodes
