// VAEDecode: latents to pixels.
#include <diffgraph/plugin.hpp>
#include "pipeline/model_files.hpp"
#include "pipeline/model_values.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec vae_decode() {
  NodeSpec spec;
  spec.type = "VAEDecode";
  spec.display_name = "VAE Decode";
  spec.category = "latent";
  spec.description = "Decodes latents into images with the VAE.";
  spec.inputs = {InputSpec::link("samples", "LATENT"), InputSpec::link("vae", "VAE")};
  spec.outputs = {{"IMAGE", "IMAGE", "the decoded images"}};
  spec.execute = [](NodeContext& ctx) {
    apply_thread_setting(ctx.environment());
    const auto& vae = ctx.get<VaeValue>("vae")->vae();
    const auto& samples = ctx.get<LatentValue>("samples")->samples();
    if (samples.size(1) != vae.vae->config.embed_dim)
      throw NodeError("the latent has " + std::to_string(samples.size(1)) + " channels but the VAE expects " +
                      std::to_string(vae.vae->config.embed_dim));
    ctx.set_output("IMAGE", make_value<ImageValue>(vae.decode(samples)));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(vae_decode);

}  // namespace diffgraph::nodes
