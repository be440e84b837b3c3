// guidance.cpp — the CFG denoiser (k-diffusion CFGDenoiser over CompVisDenoiser, ComfyUI batching).
#include "guidance.hpp"

#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace diffgraph::sampling {
namespace {

bool is_unit_scale(double scale) {
  // Python math.isclose(scale, 1.0) with its default relative tolerance.
  return std::fabs(scale - 1.0) <= 1e-9 * std::max(std::fabs(scale), 1.0);
}

void check_embedding(const torch::Tensor& context, const char* what) {
  if (!context.defined() || context.dim() != 3 || context.size(0) < 1 || context.size(1) < 1) {
    throw std::invalid_argument(std::string("guidance: ") + what + " embedding must be a [B, tokens, width] tensor");
  }
}

/// A tensor for a batch of `batch` samples: as is, or its rows repeated (ComfyUI
/// repeat_to_batch_size for the common one-prompt-many-latents case).
torch::Tensor tensor_to_batch(const torch::Tensor& t, std::int64_t batch, const std::string& what) {
  if (!t.defined() || t.size(0) == batch) return t;
  if (batch % t.size(0) != 0) {
    throw std::invalid_argument("guidance: " + what + " has " + std::to_string(t.size(0)) +
                                " rows, which does not divide the batch of " + std::to_string(batch));
  }
  std::vector<std::int64_t> repeats(static_cast<std::size_t>(t.dim()), 1);
  repeats[0] = batch / t.size(0);
  return t.repeat(repeats);
}

/// Every input of the bundle for a batch of `batch` samples.
models::ModelInputs to_batch(const models::ModelInputs& inputs, std::int64_t batch, const char* what) {
  models::ModelInputs out;
  out.context = tensor_to_batch(inputs.context, batch, std::string(what) + " embedding");
  out.y = tensor_to_batch(inputs.y, batch, std::string(what) + " y vector");
  out.concat = tensor_to_batch(inputs.concat, batch, std::string(what) + " concat input");
  return out;
}

/// σ as [B] float32 on the CPU: k-diffusion's `sigma * s_in`.
torch::Tensor batch_sigma(const torch::Tensor& sigma, std::int64_t batch) {
  auto s = sigma.detach().to(at::kCPU, at::kFloat);
  if (s.dim() == 0) return s.reshape({1}).repeat({batch});
  if (s.dim() != 1 || s.size(0) != batch) {
    throw std::invalid_argument("guidance: sigma must be 0-d or hold one value per batch row (" +
                                std::to_string(batch) + ")");
  }
  return s;
}

}  // namespace

torch::Tensor cfg_blend(const torch::Tensor& cond, const torch::Tensor& uncond, double scale) {
  return uncond + (cond - uncond) * scale;
}

torch::Tensor denoise_with_model(const NoiseModel& model, const DiscreteSchedule& schedule,
                                 const torch::Tensor& x, const torch::Tensor& sigma,
                                 const models::ModelInputs& inputs, bool quantize_t, Prediction prediction) {
  const auto sigma_cpu = sigma.detach().to(at::kCPU, at::kFloat);
  const auto scale_in = append_dims(c_in(sigma_cpu), x.dim()).to(x.device(), x.scalar_type());
  const auto timesteps = schedule.sigma_to_t(sigma_cpu, quantize_t).to(x.device());
  const auto output = model(x * scale_in, timesteps, inputs.to(x.device()));
  if (!output.defined() || output.sizes() != x.sizes()) {
    throw std::runtime_error("guidance: the model returned a tensor of another shape than its input");
  }
  return denoised_from_output(prediction, x, sigma_cpu, output);
}

torch::Tensor batch_contexts(const torch::Tensor& first, const torch::Tensor& second) {
  if (first.size(0) != second.size(0) || first.size(2) != second.size(2)) {
    throw std::invalid_argument("guidance: cond and uncond embeddings differ in batch or width");
  }
  const auto a = first.size(1);
  const auto b = second.size(1);
  if (a == b) return at::cat({first, second});
  const auto common = std::lcm(a, b);
  if (common / std::min(a, b) > 4) return {};
  return at::cat({first.repeat({1, common / a, 1}), second.repeat({1, common / b, 1})});
}

models::ModelInputs batch_inputs(const models::ModelInputs& first, const models::ModelInputs& second) {
  models::ModelInputs both;
  both.context = batch_contexts(first.context, second.context);
  if (!both.context.defined()) return both;
  const auto cat = [](const torch::Tensor& a, const torch::Tensor& b, const char* what) -> torch::Tensor {
    if (!a.defined() && !b.defined()) return {};
    if (!a.defined() || !b.defined())
      throw std::invalid_argument(std::string("guidance: only one of cond and uncond has a ") + what);
    return at::cat({a, b});
  };
  both.y = cat(first.y, second.y, "y vector");
  both.concat = cat(first.concat, second.concat, "concat input");
  return both;
}

Denoiser make_cfg_denoiser(NoiseModel model, DiscreteSchedule schedule, GuidanceConfig config) {
  if (!model) throw std::invalid_argument("guidance: no model");
  check_embedding(config.cond.context, "cond");
  const bool skip_uncond = is_unit_scale(config.scale);
  if (!skip_uncond) {
    check_embedding(config.uncond.context, "uncond");
    if (config.uncond.context.size(2) != config.cond.context.size(2)) {
      throw std::invalid_argument("guidance: cond width " + std::to_string(config.cond.context.size(2)) +
                                  " differs from uncond width " + std::to_string(config.uncond.context.size(2)));
    }
  }
  return [model = std::move(model), schedule = std::move(schedule), config = std::move(config),
          skip_uncond](const torch::Tensor& x, const torch::Tensor& sigma) {
    at::NoGradGuard no_grad;
    const auto batch = x.size(0);
    const auto sigma_b = batch_sigma(sigma, batch);
    const auto cond = to_batch(config.cond, batch, "cond");
    if (skip_uncond) {
      return denoise_with_model(model, schedule, x, sigma_b, cond, config.quantize_t, config.prediction);
    }
    const auto uncond = to_batch(config.uncond, batch, "uncond");
    const auto inputs = batch_inputs(uncond, cond);
    if (!inputs.context.defined()) {
      const auto denoised_uncond =
          denoise_with_model(model, schedule, x, sigma_b, uncond, config.quantize_t, config.prediction);
      const auto denoised_cond =
          denoise_with_model(model, schedule, x, sigma_b, cond, config.quantize_t, config.prediction);
      return cfg_blend(denoised_cond, denoised_uncond, config.scale);
    }
    const auto both = denoise_with_model(model, schedule, at::cat({x, x}), at::cat({sigma_b, sigma_b}),
                                         inputs, config.quantize_t, config.prediction);
    const auto halves = both.chunk(2);
    return cfg_blend(halves[1], halves[0], config.scale);
  };
}

EpsModel make_cfg_eps_model(NoiseModel model, GuidanceConfig config) {
  if (!model) throw std::invalid_argument("guidance: no model");
  check_embedding(config.cond.context, "cond");
  const bool skip_uncond = is_unit_scale(config.scale);
  if (!skip_uncond) check_embedding(config.uncond.context, "uncond");
  return [model = std::move(model), config = std::move(config), skip_uncond](const torch::Tensor& x,
                                                                             const torch::Tensor& timesteps) {
    at::NoGradGuard no_grad;
    const auto batch = x.size(0);
    auto t = timesteps.dim() == 0 ? timesteps.reshape({1}).repeat({batch}) : timesteps;
    t = t.to(x.device());
    const auto cond = to_batch(config.cond, batch, "cond").to(x.device());
    if (skip_uncond) return model(x, t, cond);
    const auto uncond = to_batch(config.uncond, batch, "uncond").to(x.device());
    const auto inputs = batch_inputs(uncond, cond);
    if (!inputs.context.defined()) return cfg_blend(model(x, t, cond), model(x, t, uncond), config.scale);
    const auto halves = model(at::cat({x, x}), at::cat({t, t}), inputs).chunk(2);
    return cfg_blend(halves[1], halves[0], config.scale);
  };
}

}  // namespace diffgraph::sampling
