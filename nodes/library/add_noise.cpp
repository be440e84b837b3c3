// AddNoise: the start of a sampling loop — the latent plus seeded noise at the first sigma.
// The first node of an unrolled pipeline (AddNoise → UNetDenoise → CFGBlend → SchedulerStep …).
#include <diffgraph/plugin.hpp>
#include "sampling/noise.hpp"
#include "sampling/sampling_plan.hpp"
#include "pipeline/model_values.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec add_noise() {
  NodeSpec spec;
  spec.type = "AddNoise";
  spec.category = "sampling/custom_sampling/noise";
  spec.description = "latent + noise·sigmas[0]: the sample a sampler starts from (exactly what KSampler starts from).";
  spec.inputs = {InputSpec::link("noise", "NOISE"), InputSpec::link("sigmas", "SIGMAS"),
                 InputSpec::link("latent_image", "LATENT")};
  spec.outputs = {{"LATENT", "LATENT", "the noised latent"}};
  spec.execute = [](NodeContext& ctx) {
    const auto latent = ctx.get<LatentValue>("latent_image");
    const auto& sigmas = ctx.get<SigmasValue>("sigmas")->sigmas();
    const auto noise = sampling::initial_noise(ctx.get<NoiseValue>("noise")->seed(), latent->samples().sizes());
    ctx.set_output("LATENT", make_value<LatentValue>(sampling::noised_start(latent->samples(), noise, sigmas),
                                                     latent->noise_mask()));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(add_noise);

}  // namespace diffgraph::nodes
