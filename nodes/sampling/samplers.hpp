// samplers.hpp — k-diffusion / ComfyUI samplers over an abstract denoiser, one step at a time.
//
// A sampler integrates from x = noise·σ0 (+ latent) down the σ sequence of a scheduler, calling a
// denoiser D(x, σ) → x0 estimate. The denoiser hides the network, classifier-free guidance and
// inpainting (guidance.hpp, sampling_plan.hpp), so nothing here knows about U-Nets.
//
// Every sampler is a state machine over model calls, usable three ways that give bitwise
// identical results:
//   * sample(D, x, sigmas)            — the whole loop (what ComfyUI's KSampler does);
//   * step(state, i, D)               — one step, possibly several model calls;
//   * apply(state, i, x, denoised)    — "split form" for graphs that unroll sampling into
//     UNetDenoise → CFGBlend → SchedulerStep nodes: the caller evaluates the pending model call
//     (state.model_x at state.model_sigma) itself and hands the result in; apply returns the input of
//     the next model call (the final sample once done()).
// Model calls per step (calls_at_step): one for euler, euler_ancestral, lms, dpmpp_2m, dpmpp_2m_sde,
// ddim, ddpm, lcm and uni_pc/uni_pc_bh2; two for heun, dpm_2, dpm_2_ancestral, dpmpp_2s_ancestral
// and dpmpp_sde — except on a step to σ = 0, where they take one. For a two-call step the first
// apply leaves state.stage = 1 and returns the intermediate point (heun's Euler predictor x + d·dt
// at σ_{i+1}, dpm_2's midpoint, ...) with state.model_sigma set; the second apply completes the
// step. A graph unrolls calls_per_step(sigmas) model calls per step. uni_pc evaluates its model on
// the predictor's output (the UniPC corrector uses that evaluation), so its pending model_x is the
// predicted sample, not the corrected one — still one call per step.
//
// Noise: ancestral samplers, ddpm and lcm take one latent-shaped draw per noisy step from the
// NoiseSampler (NoiseSequence: ComfyUI's fresh CPU generator), dpmpp_sde (two draws per step) and
// dpmpp_2m_sde increments of a Brownian path (BrownianTreeNoise). ComfyUI draws the latter from
// torchsde's BrownianTree, whose numbers are not reproduced: with a seed those two samplers give
// statistically equivalent, not identical, images. Given the same NoiseSampler values (as the
// fixtures supply them), every sampler follows k-diffusion's trajectory.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <torch/types.h>

#include "noise.hpp"

namespace diffgraph::sampling {

/// D(x, σ) → the denoised estimate of x0, same shape as x. σ is a float32 tensor, 0-d or [B]
/// (one per batch row; the samplers pass [B] like k-diffusion's `sigma * s_in`), on the CPU.
/// Classifier-free guidance and inpainting are applied inside by whoever built it.
using Denoiser = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& sigma)>;

/// Sampler keyword arguments (k-diffusion/ComfyUI names and defaults).
struct SamplerOptions {
  /// Amount of ancestral/SDE noise (euler_ancestral, dpm_2_ancestral, dpmpp_2s_ancestral, dpmpp_sde,
  /// dpmpp_2m_sde). 0 makes them deterministic.
  double eta = 1.0;
  /// Multiplier of the injected noise.
  double s_noise = 1.0;
  /// lms: how many past derivatives the linear multistep method uses.
  int lms_order = 4;
  /// lms: jump straight to the denoised estimate on the step to σ = 0 (current ComfyUI) instead of
  /// integrating it like the other steps (k-diffusion, which the golden fixtures use).
  bool lms_final_denoised = false;
  /// dpmpp_sde: where the intermediate evaluation sits between the two noise levels (in log σ).
  double sde_r = 0.5;
  /// dpmpp_2m_sde: "midpoint" (default) or "heun".
  std::string solver_type = "midpoint";
};

/// The extra noise a sampler draws during the run.
enum class NoiseKind {
  None,
  /// One fresh standard-normal draw per call (NoiseSequence): ancestral samplers, ddpm, lcm.
  Sequence,
  /// Increments of one Brownian path (BrownianTreeNoise): dpmpp_sde, dpmpp_2m_sde.
  BrownianTree,
};

/// What a step reports to callbacks: the step's input x and the first model call's denoised.
struct StepInfo {
  std::int64_t step = 0;
  std::int64_t steps = 0;
  torch::Tensor sigma;  // 0-d σ_i
  torch::Tensor x;
  torch::Tensor denoised;
};

/// Called after the first model call of every step; returning false cancels the run.
using StepCallback = std::function<bool(const StepInfo&)>;

/// Run-time hooks of a sampling run.
struct SampleControl {
  /// Required by samplers whose noise_kind() is not None (make_noise_sampler builds the usual one).
  NoiseSampler noise;
  StepCallback callback;
  /// Polled before every model call; true cancels the run.
  std::function<bool()> cancelled;
};

/// Thrown when a callback or the cancellation check stops a run.
class SamplingCancelled : public std::runtime_error {
 public:
  explicit SamplingCancelled(std::int64_t step);
  /// The step during which the run stopped.
  std::int64_t step() const { return step_; }

 private:
  std::int64_t step_;
};

/// A sampling run in progress: plain data, copyable (tensors are never modified in place).
struct SamplerState {
  /// The σ sequence, float32 [steps+1] on the CPU.
  torch::Tensor sigmas;
  /// The sample at the start of step `step`; the result once done().
  torch::Tensor x;
  /// The step in progress (== steps() when done).
  std::int64_t step = 0;
  /// Which model call of the step is pending: 0 = the first, 1 = a two-call sampler's second.
  int stage = 0;
  /// Input and noise level (0-d float32) of the pending model call.
  torch::Tensor model_x;
  torch::Tensor model_sigma;
  /// The first model call's output in the latest step (for previews).
  torch::Tensor denoised;
  NoiseSampler noise;
  std::int64_t model_calls = 0;
  /// Values a step hands to its second model call or to later steps, by name (see samplers.cpp).
  std::map<std::string, torch::Tensor> memory;
  /// Multistep history, oldest first: lms derivatives, uni_pc data predictions and their σ.
  std::deque<torch::Tensor> history;
  std::deque<torch::Tensor> history_sigmas;

  std::int64_t steps() const { return sigmas.defined() ? sigmas.size(0) - 1 : 0; }
  bool done() const { return step >= steps(); }
};

/// A sampling method. Stateless apart from its options; every run's state lives in SamplerState.
class Sampler {
 public:
  virtual ~Sampler() = default;

  /// The ComfyUI name ("euler", "dpmpp_2m", ...).
  virtual std::string_view name() const = 0;
  virtual NoiseKind noise_kind() const { return NoiseKind::None; }
  /// Model calls step i takes with these sigmas (1 or 2).
  virtual int calls_at_step(const torch::Tensor& sigmas, std::int64_t i) const;
  /// calls_at_step for every step.
  std::vector<int> calls_per_step(const torch::Tensor& sigmas) const;
  /// ComfyUI re-noises an inpainting's kept region with fresh noise (seed + 1) for this sampler
  /// rather than the initial noise (true for ddim).
  virtual bool inpaint_fresh_noise() const { return false; }
  const SamplerOptions& options() const { return options_; }

  /// A run from sample x (already noised to sigmas[0]) along `sigmas` (1-D, decreasing; a single
  /// value means no step). `noise` is required when noise_kind() is not None.
  SamplerState start(const torch::Tensor& x, const torch::Tensor& sigmas, NoiseSampler noise = {}) const;

  /// Split form: `denoised` = D(x, state.model_sigma) for x = state.model_x of the pending call
  /// of step i. Advances the state and returns the next model input, or the final sample once
  /// state.done(). Throws std::invalid_argument for a wrong step index or shape, std::logic_error
  /// after the last step.
  torch::Tensor apply(SamplerState& state, std::int64_t i, const torch::Tensor& x,
                      const torch::Tensor& denoised) const;

  /// Runs step i (state.step must be i) with every model call it needs.
  void step(SamplerState& state, std::int64_t i, const Denoiser& denoiser,
            const SampleControl& control = {}) const;

  /// The whole run: start, then step for every i. Returns the final sample.
  torch::Tensor sample(const Denoiser& denoiser, const torch::Tensor& x, const torch::Tensor& sigmas,
                       const SampleControl& control = {}) const;

 protected:
  explicit Sampler(SamplerOptions options) : options_(std::move(options)) {}

  /// Sets up the run's first model call (default: state.x at sigmas[0]).
  virtual void prepare(SamplerState& state) const;
  /// Consumes the pending call's output: either sets up the step's next call (stage + 1, model_x,
  /// model_sigma) or ends the step through finish_step.
  virtual void consume(SamplerState& state, const torch::Tensor& denoised) const = 0;
  /// Ends the step with sample x: next step, stage 0, next call at (x, σ_{step}).
  static void finish_step(SamplerState& state, torch::Tensor x);

  SamplerOptions options_;
};

/// The sampler names, in ComfyUI's order: euler, euler_ancestral, heun, dpm_2, dpm_2_ancestral, lms,
/// dpmpp_2s_ancestral, dpmpp_sde, dpmpp_2m, dpmpp_2m_sde, ddpm, lcm, ddim, uni_pc, uni_pc_bh2.
std::vector<std::string> sampler_names();

/// The sampler called `name`. Unknown name or invalid option → std::invalid_argument (naming it
/// and listing the valid names).
/// ddim is ComfyUI's: Euler steps (ComfyUI maps "ddim" to k-diffusion euler, which is DDIM with
/// η = 0 in σ form) with fresh inpainting noise. CompVis's DDIMSampler on timesteps is ddim.hpp.
/// uni_pc is ComfyUI's UniPC (B(h) = h, "bh1"), uni_pc_bh2 uses B(h) = e^h - 1; both predict x0,
/// order min(3, steps-1), lower order on the last steps, no corrector after the final step, and
/// stop at σ = 0.001 when the sequence ends at 0. With a single step ComfyUI's UniPC returns its
/// input unchanged; here that step is a first-order (DPM-Solver-1) step.
std::unique_ptr<Sampler> make_sampler(std::string_view name, const SamplerOptions& options = {});

/// The usual noise for `sampler` from `seed`: a NoiseSequence of x's shape, or a Brownian tree over
/// [smallest positive σ, largest σ] of `sigmas`. An empty NoiseSampler when the sampler needs none.
NoiseSampler make_noise_sampler(const Sampler& sampler, std::uint64_t seed, const torch::Tensor& x,
                                const torch::Tensor& sigmas);

/// k-diffusion's linear multistep coefficients for step i (order = how many past derivatives):
/// c_j = ∫_{σ_i}^{σ_{i+1}} Π_{k≠j} (τ - σ_{i-k}) / (σ_{i-j} - σ_{i-k}) dτ, j = 0 the newest. The
/// integrand is a polynomial, integrated exactly (Gauss-Legendre); the denominators are float32
/// differences, as numpy computes them from the float32 sigmas.
std::vector<double> lms_coefficients(const std::vector<float>& sigmas, std::int64_t i, int order);

}  // namespace diffgraph::sampling
