// VAEEncodeForInpaint: encodes an image for inpainting — the masked pixels greyed out so the
// sampler invents them, and the (grown) mask attached to the latent as its noise mask.
#include <diffgraph/plugin.hpp>
#include "pipeline/model_files.hpp"
#include "pipeline/model_values.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec vae_encode_for_inpaint() {
  NodeSpec spec;
  spec.type = "VAEEncodeForInpaint";
  spec.display_name = "VAE Encode (for Inpainting)";
  spec.category = "latent/inpaint";
  spec.description = "Encodes `pixels` with the masked area set to grey, and attaches the mask (grown by "
                     "grow_mask_by pixels) so sampling repaints only that area. The mask must have the image's size.";
  spec.inputs = {InputSpec::link("pixels", "IMAGE"), InputSpec::link("vae", "VAE"), InputSpec::link("mask", "MASK"),
                 InputSpec::integer("grow_mask_by", 6).range(0, 64)};
  spec.outputs = {{"LATENT", "LATENT", "the latent with its noise mask"}};
  spec.execute = [](NodeContext& ctx) {
    apply_thread_setting(ctx.environment());
    const auto& vae = ctx.get<VaeValue>("vae")->vae();
    auto pixels = ctx.get<ImageValue>("pixels")->pixels();
    auto mask = ctx.get<MaskValue>("mask")->mask();
    if (mask.size(1) != pixels.size(1) || mask.size(2) != pixels.size(2))
      throw NodeError("the mask is " + std::to_string(mask.size(2)) + "x" + std::to_string(mask.size(1)) +
                      " but the image is " + std::to_string(pixels.size(2)) + "x" + std::to_string(pixels.size(1)) +
                      ": they must be the same size");
    if (mask.size(0) != 1 && mask.size(0) != pixels.size(0))
      throw NodeError("the mask batch (" + std::to_string(mask.size(0)) + ") does not match the image batch (" +
                      std::to_string(pixels.size(0)) + ")");
    // Crop both to whole latent cells, as the encoder does.
    const std::int64_t f = vae.downscale();
    const std::int64_t h = pixels.size(1) / f * f, w = pixels.size(2) / f * f;
    pixels = pixels.slice(1, 0, h).slice(2, 0, w);
    auto m = mask.slice(1, 0, h).slice(2, 0, w).unsqueeze(1);  // [B,1,H,W]
    const std::int64_t grow = ctx.get_int("grow_mask_by");
    auto grown = m;
    if (grow > 0) {
      // A box sum, clamped: ComfyUI's dilation, which also widens soft edges.
      auto kernel = torch::ones({1, 1, 2 * grow + 1, 2 * grow + 1});
      grown = torch::conv2d(m.round(), kernel, {}, 1, grow).clamp(0.0, 1.0);
    }
    const auto keep = (1.0 - m.round()).squeeze(1).unsqueeze(-1);  // [B,H,W,1]
    auto greyed = (pixels - 0.5) * keep + 0.5;
    ctx.set_output("LATENT", make_value<LatentValue>(vae.encode(greyed), grown.squeeze(1).contiguous()));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(vae_encode_for_inpaint);

}  // namespace diffgraph::nodes
