// sampling_plan.hpp — ComfyUI KSampler semantics around a sampler: partial denoise (img2img),
// start/end steps, the noised start latent, and inpainting with a latent noise mask.
//
// Latents here are in the model's space (already multiplied by the VAE scale factor, e.g. 0.18215
// for SD 1.x); ComfyUI does that scaling inside its sampler, the graph does it at the VAE nodes.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <torch/types.h>

#include "noise_schedule.hpp"
#include "samplers.hpp"

namespace diffgraph::sampling {

/// ComfyUI KSampler.set_steps: denoise >= 0.9999 → the scheduler's `steps` sigmas; otherwise the
/// schedule of int(steps/denoise) steps, of which the last steps+1 values are kept (img2img enters
/// at a lower noise level); denoise <= 0 → an empty tensor (nothing to do). With a sampler name,
/// dpm_2, dpm_2_ancestral, uni_pc and uni_pc_bh2 get ComfyUI's one extra step whose penultimate
/// σ is dropped (DISCARD_PENULTIMATE_SIGMA_SAMPLERS).
torch::Tensor sigmas_for_denoise(const DiscreteSchedule& schedule, std::string_view scheduler,
                                 std::int64_t steps, double denoise = 1.0, std::string_view sampler = {});

/// KSamplerAdvanced: keep sigmas[start_step .. last_step] (last_step < 0: to the end); with
/// force_full_denoise a cut-off end is set to 0. Returns an empty tensor when start_step is at or
/// past the last step (ComfyUI then returns the latent unchanged).
torch::Tensor slice_sigmas(const torch::Tensor& sigmas, std::int64_t start_step, std::int64_t last_step,
                           bool force_full_denoise);

/// The start sample: noise·σ0 + latent (txt2img: latent is zero or undefined → noise·σ0).
/// comfy_max_denoise: when σ0 is the schedule's σ_max (within 1e-5 relative) ComfyUI scales the
/// noise by √(1+σ0²) instead of σ0; off by default (k-diffusion and the fixtures use σ0).
torch::Tensor noised_start(const torch::Tensor& latent, const torch::Tensor& noise, const torch::Tensor& sigmas,
                           bool comfy_max_denoise = false, const DiscreteSchedule* schedule = nullptr);

/// A noise mask (1 = repaint, 0 = keep) as the latent's shape [B,C,h,w]: [H,W], [B,H,W] or
/// [B,1,H,W] (any B dividing the latent batch), resized bilinearly (align_corners false) to h×w
/// and repeated over channels and batch, as ComfyUI's prepare_mask.
torch::Tensor prepare_denoise_mask(const torch::Tensor& mask, at::IntArrayRef latent_shape);

/// ComfyUI KSamplerX0Inpaint: before every call the kept region of the model input is replaced by
/// the original latent noised to the current σ (latent + noise·σ), and the kept region of the
/// output by the latent: denoised·mask + latent·(1-mask). `mask` must already have the latent's shape.
Denoiser inpaint_denoiser(Denoiser inner, torch::Tensor latent, torch::Tensor noise, torch::Tensor mask);

/// Everything a KSampler run needs besides the sampler and the denoiser.
struct KSamplerRun {
  /// The start latent (model space); undefined or zeros for txt2img.
  torch::Tensor latent;
  /// Initial noise of the latent's shape (initial_noise(seed, shape) for ComfyUI parity).
  torch::Tensor noise;
  /// The σ sequence (sigmas_for_denoise / slice_sigmas).
  torch::Tensor sigmas;
  /// Optional latent noise mask (any shape prepare_denoise_mask accepts).
  torch::Tensor denoise_mask;
  /// Seed of the run: seeds the sampler's noise (when no noise sampler is given) and, for ddim,
  /// ComfyUI's fresh inpainting noise (seed + 1).
  std::optional<std::uint64_t> seed;
  /// Overrides the seed-based noise sampler.
  NoiseSampler noise_sampler;
  StepCallback callback;
  std::function<bool()> cancelled;
  bool comfy_max_denoise = false;
  /// Needed only for comfy_max_denoise.
  const DiscreteSchedule* schedule = nullptr;
};

/// A KSampler run: start sample, inpainting wrapper, the sampler loop, and (with a mask) the final
/// composite output·mask + latent·(1-mask), so an all-zero mask returns the latent exactly and an
/// all-ones mask equals plain sampling. An empty or single-value σ sequence returns the latent.
torch::Tensor ksample(const Sampler& sampler, const Denoiser& denoiser, const KSamplerRun& run);

}  // namespace diffgraph::sampling
