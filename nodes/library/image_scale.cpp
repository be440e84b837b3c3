// ImageScale: resizes images to a given size, optionally cropping the centre first so the
// aspect ratio is kept (ComfyUI's node and methods).
#include <cmath>

#include <diffgraph/tensor_values.hpp>

#include <diffgraph/plugin.hpp>
#include "pipeline/image_ops.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec image_scale() {
  NodeSpec spec;
  spec.type = "ImageScale";
  spec.display_name = "Upscale Image";
  spec.category = "image/upscaling";
  spec.description =
      "Resizes the images to width x height. A size of 0 follows the other one, keeping the aspect ratio (both 0: "
      "unchanged). crop center first cuts the middle part with the target's aspect ratio. lanczos is a Lanczos-3 "
      "filter like PIL's (computed in float); bicubic and lanczos results are clamped to [0, 1].";
  spec.inputs = {InputSpec::link("image", "IMAGE"),
                 InputSpec::choice("upscale_method", image_upscale_methods()),
                 InputSpec::integer("width", 512).range(0, kMaxResolution, 1).describe("0 = follow height"),
                 InputSpec::integer("height", 512).range(0, kMaxResolution, 1).describe("0 = follow width"),
                 InputSpec::choice("crop", crop_methods())};
  spec.outputs = {{"IMAGE", "IMAGE", "the resized images"}};
  spec.execute = [](NodeContext& ctx) {
    const torch::Tensor& image = ctx.get<ImageValue>("image")->pixels();
    const std::string& method = ctx.get_string("upscale_method");
    std::int64_t width = ctx.get_int("width"), height = ctx.get_int("height");
    if (width < 0 || height < 0) throw NodeError("width and height must not be negative");
    if (width == 0 && height == 0) {
      ctx.set_output("IMAGE", ctx.input("image"));
      return;
    }
    const std::int64_t old_height = image.size(1), old_width = image.size(2);
    if (width == 0)
      width = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::nearbyint(
                                            static_cast<double>(old_width) * height / static_cast<double>(old_height))));
    if (height == 0)
      height = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::nearbyint(
                                             static_cast<double>(old_height) * width / static_cast<double>(old_width))));
    torch::Tensor scaled =
        common_upscale(image.movedim(-1, 1), width, height, method, ctx.get_string("crop")).movedim(1, -1).contiguous();
    // These filters overshoot at sharp edges; an IMAGE stays in [0, 1].
    if (method == "bicubic" || method == "lanczos") scaled.clamp_(0.0, 1.0);
    ctx.set_output("IMAGE", make_value<ImageValue>(std::move(scaled)));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(image_scale);

}  // namespace diffgraph::nodes
