#include "denoising.hpp"

#include <torch/torch.h>

#include "sampling/sampling_plan.hpp"

namespace diffgraph::nodes {

namespace {

sampling::NoiseModel network_of(const DiffusionModel& model) {
  return [&model](const torch::Tensor& x, const torch::Tensor& t, const models::ModelInputs& inputs) {
    return model.predict(x, t, inputs);
  };
}

}  // namespace

torch::Tensor denoise(const DiffusionModel& model, const ConditioningValue& conditioning, const torch::Tensor& x,
                      const torch::Tensor& sigma) {
  const auto network = network_of(model);
  torch::Tensor sum;
  for (const auto& entry : conditioning.entries()) {
    auto d = sampling::denoise_with_model(network, model.schedule, x, sigma, model.inputs_for(entry), /*quantize_t=*/true,
                                          model.prediction);
    sum = sum.defined() ? sum + d : d;
  }
  const auto count = static_cast<double>(conditioning.entries().size());
  return count == 1 ? sum : sum / count;
}

sampling::Denoiser guided_denoiser(const DiffusionModel& model, const ConditioningValue& positive,
                                   const ConditioningValue& negative, double cfg) {
  if (positive.entries().size() == 1 && negative.entries().size() == 1) {
    sampling::GuidanceConfig config;
    config.cond = model.inputs_for(positive.entries().front());
    config.uncond = model.inputs_for(negative.entries().front());
    config.scale = cfg;
    config.prediction = model.prediction;
    try {
      return sampling::make_cfg_denoiser(network_of(model), model.schedule, std::move(config));
    } catch (const std::invalid_argument& e) {
      throw NodeError(std::string("the conditioning does not fit the model: ") + e.what());
    }
  }
  // Combined conditioning: each side averaged over its encodings, then blended.
  return [&model, &positive, &negative, cfg](const torch::Tensor& x, const torch::Tensor& sigma) {
    auto cond = denoise(model, positive, x, sigma);
    if (std::abs(cfg - 1.0) < 1e-9) return cond;
    return sampling::cfg_blend(cond, denoise(model, negative, x, sigma), cfg);
  };
}

std::unique_ptr<sampling::Sampler> sampler_named(const std::string& name) {
  try {
    return sampling::make_sampler(name);
  } catch (const std::invalid_argument& e) {
    throw NodeError(e.what());
  }
}

torch::Tensor run_sampler(NodeContext& ctx, const sampling::Sampler& sampler, const sampling::Denoiser& denoiser,
                          const LatentValue& latent, const torch::Tensor& sigmas, const torch::Tensor& noise,
                          std::uint64_t seed, torch::Tensor* last_denoised) {
  sampling::KSamplerRun run;
  run.latent = latent.samples();
  run.noise = noise;
  run.sigmas = sigmas;
  if (latent.noise_mask()) run.denoise_mask = *latent.noise_mask();
  run.seed = seed;
  run.cancelled = [&ctx] { return ctx.cancelled(); };
  run.callback = [&ctx, last_denoised](const sampling::StepInfo& info) {
    if (last_denoised) *last_denoised = info.denoised;
    ctx.progress(static_cast<int>(info.step + 1), static_cast<int>(info.steps), latent_to_preview(info.denoised[0]));
    return true;
  };
  try {
    return sampling::ksample(sampler, denoiser, run);
  } catch (const sampling::SamplingCancelled&) {
    throw Cancelled();
  } catch (const std::invalid_argument& e) {
    throw NodeError(e.what());
  }
}

}  // namespace diffgraph::nodes
