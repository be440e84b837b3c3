// SamplerCustomAdvanced: sampling from its parts — noise, guider, sampler and sigmas.
#include <diffgraph/plugin.hpp>
#include "pipeline/denoising.hpp"
#include "pipeline/model_files.hpp"
#include "sampling/noise.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec sampler_custom_advanced() {
  NodeSpec spec;
  spec.type = "SamplerCustomAdvanced";
  spec.category = "sampling/custom_sampling";
  spec.description = "Runs `sampler` along `sigmas` with `guider`, starting from `noise`; gives the result and "
                     "the last denoised (x0) estimate.";
  spec.inputs = {InputSpec::link("noise", "NOISE"), InputSpec::link("guider", "GUIDER"),
                 InputSpec::link("sampler", "SAMPLER"), InputSpec::link("sigmas", "SIGMAS"),
                 InputSpec::link("latent_image", "LATENT")};
  spec.outputs = {{"output", "LATENT", "the sampled latent"},
                  {"denoised_output", "LATENT", "the model's last x0 estimate"}};
  spec.execute = [](NodeContext& ctx) {
    apply_thread_setting(ctx.environment());
    const auto noise = ctx.get<NoiseValue>("noise");
    const auto guider = ctx.get<GuiderValue>("guider");
    const auto latent = ctx.get<LatentValue>("latent_image");
    const auto sampler = sampler_named(ctx.get<SamplerValue>("sampler")->name());
    const auto& model = guider->model().model();
    const auto denoiser = guided_denoiser(model, guider->positive(), guider->negative(), guider->cfg());
    torch::Tensor denoised;
    auto samples = run_sampler(ctx, *sampler, denoiser, *latent, ctx.get<SigmasValue>("sigmas")->sigmas(),
                               sampling::initial_noise(noise->seed(), latent->samples().sizes()), noise->seed(), &denoised);
    if (!denoised.defined()) denoised = samples;  // no step was taken
    ctx.set_output("output", make_value<LatentValue>(std::move(samples), latent->noise_mask()));
    ctx.set_output("denoised_output", make_value<LatentValue>(denoised, latent->noise_mask()));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(sampler_custom_advanced);

}  // namespace diffgraph::nodes
