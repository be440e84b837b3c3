// VAEEncode: pixels to latents (for img2img).
#include <diffgraph/plugin.hpp>
#include "pipeline/model_files.hpp"
#include "pipeline/model_values.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec vae_encode() {
  NodeSpec spec;
  spec.type = "VAEEncode";
  spec.display_name = "VAE Encode";
  spec.category = "latent";
  spec.description = "Encodes images into latents (the posterior mean, scaled). Sizes that are not multiples of "
                     "8 are centre-cropped.";
  spec.inputs = {InputSpec::link("pixels", "IMAGE"), InputSpec::link("vae", "VAE")};
  spec.outputs = {{"LATENT", "LATENT", "the encoded latents"}};
  spec.execute = [](NodeContext& ctx) {
    apply_thread_setting(ctx.environment());
    const auto& vae = ctx.get<VaeValue>("vae")->vae();
    ctx.set_output("LATENT", make_value<LatentValue>(vae.encode(ctx.get<ImageValue>("pixels")->pixels())));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(vae_encode);

}  // namespace diffgraph::nodes
