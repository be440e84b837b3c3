// LatentUpscale: resizes latents to the latent of a given picture size (ComfyUI's node). The
// noise mask, if any, is kept: it may have any resolution.
#include <algorithm>
#include <cmath>

#include <diffgraph/tensor_values.hpp>

#include <diffgraph/plugin.hpp>
#include "pipeline/image_ops.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec latent_upscale() {
  NodeSpec spec;
  spec.type = "LatentUpscale";
  spec.display_name = "Upscale Latent";
  spec.category = "latent";
  spec.description =
      "Resizes the latents to the latent of a width x height picture (width/8 x height/8), at least 64 pixels a "
      "side. A size of 0 follows the other one, keeping the aspect ratio (both 0: unchanged). crop center first "
      "cuts the middle part with the target's aspect ratio. bislerp blends latent vectors spherically.";
  spec.inputs = {InputSpec::link("samples", "LATENT"),
                 InputSpec::choice("upscale_method", latent_upscale_methods()),
                 InputSpec::integer("width", 512).range(0, kMaxResolution, 8).describe("pixels, a multiple of 8; 0 = follow height"),
                 InputSpec::integer("height", 512).range(0, kMaxResolution, 8).describe("pixels, a multiple of 8; 0 = follow width"),
                 InputSpec::choice("crop", crop_methods())};
  spec.outputs = {{"LATENT", "LATENT", "the resized latents"}};
  spec.execute = [](NodeContext& ctx) {
    std::int64_t width = ctx.get_int("width"), height = ctx.get_int("height");
    for (auto [name, value] : {std::pair{"width", width}, std::pair{"height", height}}) {
      if (value < 0 || value > kMaxResolution)
        throw NodeError(std::string(name) + " " + std::to_string(value) + " is out of range 0..16384");
      if (value % 8 != 0)
        throw NodeError(std::string(name) + " " + std::to_string(value) + " is not a multiple of 8");
    }
    if (width == 0 && height == 0) {
      ctx.set_output("LATENT", ctx.input("samples"));
      return;
    }
    const auto latent = ctx.get<LatentValue>("samples");
    const torch::Tensor& samples = latent->samples();
    const double old_height = static_cast<double>(samples.size(-2)), old_width = static_cast<double>(samples.size(-1));
    // Sizes are in pixels; a side computed from the aspect ratio is rounded like Python's round().
    if (width == 0) {
      height = std::max<std::int64_t>(64, height);
      width = std::max<std::int64_t>(64, static_cast<std::int64_t>(std::nearbyint(old_width * height / old_height)));
    } else if (height == 0) {
      width = std::max<std::int64_t>(64, width);
      height = std::max<std::int64_t>(64, static_cast<std::int64_t>(std::nearbyint(old_height * width / old_width)));
    } else {
      width = std::max<std::int64_t>(64, width);
      height = std::max<std::int64_t>(64, height);
    }
    torch::Tensor resized =
        common_upscale(samples, width / 8, height / 8, ctx.get_string("upscale_method"), ctx.get_string("crop"));
    ctx.set_output("LATENT", make_value<LatentValue>(std::move(resized), latent->noise_mask()));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(latent_upscale);

}  // namespace diffgraph::nodes
