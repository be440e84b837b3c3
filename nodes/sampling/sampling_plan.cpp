// sampling_plan.cpp — ComfyUI's KSampler around the samplers (comfy/samplers.py, sampler_helpers.py).
#include "sampling_plan.hpp"

#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "noise.hpp"
#include "schedulers.hpp"

namespace diffgraph::sampling {
namespace {

bool discards_penultimate_sigma(std::string_view sampler) {
  return sampler == "dpm_2" || sampler == "dpm_2_ancestral" || sampler == "uni_pc" || sampler == "uni_pc_bh2";
}

torch::Tensor calculate_sigmas(const DiscreteSchedule& schedule, std::string_view scheduler, std::int64_t steps,
                               std::string_view sampler) {
  if (!discards_penultimate_sigma(sampler)) return compute_sigmas(schedule, scheduler, steps);
  // These samplers spend their last step badly close to 0; ComfyUI plans one more step and drops
  // the σ before the final 0.
  const auto sigmas = compute_sigmas(schedule, scheduler, steps + 1);
  const auto n = sigmas.size(0);
  if (n < 2) return sigmas;
  return at::cat({sigmas.slice(0, 0, n - 2), sigmas.slice(0, n - 1, n)});
}

/// ComfyUI repeat_to_batch_size along dimension 0.
torch::Tensor repeat_to_batch(const torch::Tensor& tensor, std::int64_t batch) {
  const auto have = tensor.size(0);
  if (have > batch) return tensor.narrow(0, 0, batch);
  if (have < batch) {
    std::vector<std::int64_t> repeats(static_cast<std::size_t>(tensor.dim()), 1);
    repeats[0] = (batch + have - 1) / have;
    return tensor.repeat(repeats).narrow(0, 0, batch);
  }
  return tensor;
}

}  // namespace

torch::Tensor sigmas_for_denoise(const DiscreteSchedule& schedule, std::string_view scheduler,
                                 std::int64_t steps, double denoise, std::string_view sampler) {
  if (steps < 1) throw std::invalid_argument("sampling needs at least 1 step, got " + std::to_string(steps));
  if (std::isnan(denoise)) throw std::invalid_argument("denoise is NaN");
  if (denoise > 0.9999) return calculate_sigmas(schedule, scheduler, steps, sampler);
  if (denoise <= 0.0) return at::empty({0}, at::TensorOptions().dtype(at::kFloat));
  // Python int(steps/denoise): truncation of the float quotient.
  const auto total = static_cast<std::int64_t>(static_cast<double>(steps) / denoise);
  const auto sigmas = calculate_sigmas(schedule, scheduler, total, sampler);
  const auto n = sigmas.size(0);
  return sigmas.slice(0, std::max<std::int64_t>(0, n - (steps + 1)), n);
}

torch::Tensor slice_sigmas(const torch::Tensor& sigmas, std::int64_t start_step, std::int64_t last_step,
                           bool force_full_denoise) {
  auto out = sigmas;
  if (last_step >= 0 && last_step < out.size(0) - 1) {
    out = out.slice(0, 0, last_step + 1).clone();
    if (force_full_denoise) out[out.size(0) - 1] = 0;
  }
  if (start_step > 0) {
    if (start_step >= out.size(0) - 1) return at::empty({0}, out.options());
    out = out.slice(0, start_step, out.size(0));
  }
  return out;
}

torch::Tensor noised_start(const torch::Tensor& latent, const torch::Tensor& noise, const torch::Tensor& sigmas,
                           bool comfy_max_denoise, const DiscreteSchedule* schedule) {
  if (!noise.defined()) throw std::invalid_argument("noised_start: no noise");
  if (!sigmas.defined() || sigmas.dim() != 1 || sigmas.size(0) < 1) {
    throw std::invalid_argument("noised_start: sigmas must be a non-empty 1-D tensor");
  }
  const auto sigma0 = sigmas[0].to(at::kCPU, at::kFloat);
  torch::Tensor scaled;
  bool max_denoise = false;
  if (comfy_max_denoise) {
    if (schedule == nullptr) throw std::invalid_argument("noised_start: comfy_max_denoise needs the schedule");
    const double max_sigma = schedule->sigma_max().item<float>();
    const double sigma = sigma0.item<float>();
    max_denoise = std::fabs(max_sigma - sigma) <= 1e-5 * std::max(std::fabs(max_sigma), std::fabs(sigma)) ||
                  sigma > max_sigma;
  }
  scaled = max_denoise ? noise * at::sqrt(at::pow(sigma0, 2.0) + 1.0) : noise * sigma0;
  if (!latent.defined()) return scaled;
  if (latent.sizes() != noise.sizes()) {
    throw std::invalid_argument("noised_start: latent and noise shapes differ");
  }
  return scaled + latent;
}

torch::Tensor prepare_denoise_mask(const torch::Tensor& mask, at::IntArrayRef latent_shape) {
  if (!mask.defined() || mask.dim() < 2 || mask.dim() > 4) {
    throw std::invalid_argument("denoise mask must be [H,W], [B,H,W] or [B,1,H,W]");
  }
  if (latent_shape.size() != 4) throw std::invalid_argument("denoise mask needs a [B,C,H,W] latent");
  const auto height = mask.size(-2);
  const auto width = mask.size(-1);
  auto m = mask.to(at::kFloat).reshape({-1, 1, height, width});
  m = at::upsample_bilinear2d(m, {latent_shape[2], latent_shape[3]}, false, c10::nullopt, c10::nullopt);
  const auto channels = latent_shape[1];
  if (m.size(1) < channels) m = m.repeat({1, channels, 1, 1}).slice(1, 0, channels);
  return repeat_to_batch(m, latent_shape[0]);
}

Denoiser inpaint_denoiser(Denoiser inner, torch::Tensor latent, torch::Tensor noise, torch::Tensor mask) {
  if (!inner) throw std::invalid_argument("inpaint_denoiser: no denoiser");
  if (!latent.defined() || !noise.defined() || !mask.defined() || latent.sizes() != noise.sizes() ||
      mask.sizes() != latent.sizes()) {
    throw std::invalid_argument("inpaint_denoiser: latent, noise and mask must have the same shape");
  }
  return [inner = std::move(inner), latent = std::move(latent), noise = std::move(noise),
          mask = std::move(mask)](const torch::Tensor& x, const torch::Tensor& sigma) {
    const auto latent_mask = 1.0 - mask;
    auto s = sigma.to(x.device(), x.scalar_type());
    if (s.dim() == 0) s = s.reshape({1}).repeat({x.size(0)});
    const auto kept = noise * append_dims(s, x.dim()) + latent;
    const auto x_in = x * mask + kept * latent_mask;
    const auto out = inner(x_in, sigma);
    return out * mask + latent * latent_mask;
  };
}

torch::Tensor ksample(const Sampler& sampler, const Denoiser& denoiser, const KSamplerRun& run) {
  if (!run.noise.defined()) throw std::invalid_argument("ksample: no initial noise");
  if (run.latent.defined() && run.latent.sizes() != run.noise.sizes()) {
    throw std::invalid_argument("ksample: latent and noise shapes differ");
  }
  at::NoGradGuard no_grad;
  const auto latent = run.latent.defined() ? run.latent : at::zeros_like(run.noise);
  if (!run.sigmas.defined() || run.sigmas.numel() <= 1) return latent;

  const auto x = noised_start(run.latent, run.noise, run.sigmas, run.comfy_max_denoise, run.schedule);
  torch::Tensor mask;
  Denoiser model = denoiser;
  if (run.denoise_mask.defined()) {
    mask = prepare_denoise_mask(run.denoise_mask, latent.sizes()).to(latent.options());
    auto inpaint_noise = run.noise;
    if (sampler.inpaint_fresh_noise() && run.seed) {
      inpaint_noise = initial_noise(*run.seed + 1, run.noise.sizes()).to(run.noise.options());
    }
    model = inpaint_denoiser(model, latent, inpaint_noise, mask);
  }

  SampleControl control;
  control.callback = run.callback;
  control.cancelled = run.cancelled;
  control.noise = run.noise_sampler;
  if (!control.noise && sampler.noise_kind() != NoiseKind::None) {
    if (!run.seed) {
      throw std::invalid_argument("ksample: sampler " + std::string(sampler.name()) +
                                  " adds noise and needs a seed or a noise sampler");
    }
    control.noise = make_noise_sampler(sampler, *run.seed, x, run.sigmas);
  }
  auto out = sampler.sample(model, x, run.sigmas, control);
  if (mask.defined()) out = out * mask + latent * (1.0 - mask);
  return out;
}

}  // namespace diffgraph::sampling
