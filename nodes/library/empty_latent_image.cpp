// EmptyLatentImage: an all-zero latent batch for a picture size, the start of text-to-image.
#include <diffgraph/tensor_values.hpp>

#include <diffgraph/plugin.hpp>
#include "pipeline/image_ops.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec empty_latent_image() {
  NodeSpec spec;
  spec.type = "EmptyLatentImage";
  spec.display_name = "Empty Latent Image";
  spec.category = "latent";
  spec.description =
      "Zeros [batch_size, 4, height/8, width/8]: the latent of a width x height picture. Width and height must be "
      "multiples of 8 (ComfyUI rounds them down silently; here it is an error, so the picture size is never a "
      "surprise).";
  spec.inputs = {InputSpec::integer("width", 512).range(16, kMaxResolution, 8).describe("pixels, a multiple of 8"),
                 InputSpec::integer("height", 512).range(16, kMaxResolution, 8).describe("pixels, a multiple of 8"),
                 InputSpec::integer("batch_size", 1).range(1, 4096).describe("latents in the batch")};
  spec.outputs = {{"LATENT", "LATENT", "zeros [batch_size, 4, height/8, width/8]"}};
  spec.execute = [](NodeContext& ctx) {
    auto dimension = [&](const char* name) {
      const std::int64_t value = ctx.get_int(name);
      if (value < 16 || value > kMaxResolution)
        throw NodeError(std::string(name) + " " + std::to_string(value) + " is out of range 16..16384");
      if (value % 8 != 0)
        throw NodeError(std::string(name) + " " + std::to_string(value) + " is not a multiple of 8 (try " +
                        std::to_string(value / 8 * 8) + " or " + std::to_string(value / 8 * 8 + 8) + ")");
      return value / 8;
    };
    const std::int64_t width = dimension("width"), height = dimension("height");
    const std::int64_t batch = ctx.get_int("batch_size");
    if (batch < 1 || batch > 4096) throw NodeError("batch_size " + std::to_string(batch) + " is out of range 1..4096");
    ctx.set_output("LATENT", make_value<LatentValue>(torch::zeros({batch, 4, height, width}, torch::kFloat)));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(empty_latent_image);

}  // namespace diffgraph::nodes
