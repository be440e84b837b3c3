// KSampler: denoises a latent from seeded noise with a sampler, a scheduler and classifier-free
// guidance — the whole sampling loop in one node, as in ComfyUI.
#include <diffgraph/plugin.hpp>
#include "sampling/noise.hpp"
#include "sampling/sampling_plan.hpp"
#include "pipeline/common_inputs.hpp"
#include "pipeline/denoising.hpp"
#include "pipeline/model_files.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec ksampler() {
  NodeSpec spec;
  spec.type = "KSampler";
  spec.category = "sampling";
  spec.description =
      "Samples a latent: seeded noise (ComfyUI's CPU noise, so seeds reproduce its images), the "
      "scheduler's sigmas, the sampler, and CFG between positive and negative conditioning. With "
      "denoise < 1 it starts part-way (img2img); a latent noise mask restricts the change (inpainting).";
  spec.inputs = {InputSpec::link("model", "MODEL"),
                 seed_input("seed"),
                 steps_input(),
                 cfg_input(),
                 sampler_input(),
                 scheduler_input(),
                 InputSpec::link("positive", "CONDITIONING"),
                 InputSpec::link("negative", "CONDITIONING"),
                 InputSpec::link("latent_image", "LATENT"),
                 denoise_input()};
  spec.outputs = {{"LATENT", "LATENT", "the denoised latent"}};
  spec.execute = [](NodeContext& ctx) {
    apply_thread_setting(ctx.environment());
    const auto& model = ctx.get<ModelValue>("model")->model();
    const auto latent = ctx.get<LatentValue>("latent_image");
    const std::uint64_t seed = sampling::seed_from_int64(ctx.get_int("seed"));
    const auto sampler = sampler_named(ctx.get_string("sampler_name"));
    const auto sigmas = sampling::sigmas_for_denoise(model.schedule, ctx.get_string("scheduler"), ctx.get_int("steps"),
                                                     ctx.get_float("denoise"), ctx.get_string("sampler_name"));
    const auto denoiser = guided_denoiser(model, *ctx.get<ConditioningValue>("positive"),
                                          *ctx.get<ConditioningValue>("negative"), ctx.get_float("cfg"));
    const auto noise = sampling::initial_noise(seed, latent->samples().sizes());
    auto samples = run_sampler(ctx, *sampler, denoiser, *latent, sigmas, noise, seed);
    ctx.set_output("LATENT", make_value<LatentValue>(std::move(samples), latent->noise_mask()));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(ksampler);

}  // namespace diffgraph::nodes
