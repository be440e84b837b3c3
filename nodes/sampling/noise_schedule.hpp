// noise_schedule.hpp — Stable Diffusion's discrete DDPM schedule, seen as k-diffusion noise levels σ.
//
// A discrete-time model is trained on timesteps t = 0..T-1 with ᾱ_t = Π(1-β). k-diffusion (and
// ComfyUI's ModelSamplingDiscrete) re-express it as a variance-exploding process x = x0 + σ·ε with
// σ_t = √((1-ᾱ_t)/ᾱ_t), so samplers work on σ and only the model call converts σ back to t.
// Every number here is computed with the same float32/float64 operations, in the same order, as
// k-diffusion's DiscreteSchedule/CompVisDenoiser (the reference the golden fixtures were made with),
// so the tables agree bit for bit with the same LibTorch CPU kernels. (ComfyUI's
// ModelSamplingDiscrete takes √((1-ᾱ)/ᾱ) in float64 before rounding to float32, which can differ
// from this table by one float32 ulp; the fixtures follow k-diffusion.)
#pragma once

#include <cstdint>
#include <string_view>

#include <torch/types.h>

namespace diffgraph::sampling {

/// What the network's output means.
enum class Prediction {
  /// The added noise ε (SD 1.x, SD 2.x base). denoised = x - σ·ε.
  Epsilon,
  /// The velocity v = α·ε - σ_vp·x0 (SD 2.x 768-v). Scalings of k-diffusion's CompVisVDenoiser.
  V,
};

/// "eps"/"epsilon" → Epsilon, "v"/"v_prediction" → V; std::invalid_argument otherwise.
Prediction prediction_from_name(std::string_view name);
std::string_view prediction_name(Prediction prediction);

/// How the training betas are spaced between linear_start and linear_end.
enum class BetaSchedule {
  /// CompVis "linear" = diffusers "scaled_linear": linspace(√start, √end, T)² in float64. SD 1.x/2.x.
  ScaledLinear,
  /// diffusers "linear" = CompVis "sqrt_linear": linspace(start, end, T) in float64.
  Linear,
};

/// "scaled_linear" → ScaledLinear, "linear" → Linear (diffusers names); std::invalid_argument otherwise.
BetaSchedule beta_schedule_from_name(std::string_view name);

/// The same from CompVis config names (make_beta_schedule): "linear" → ScaledLinear (CompVis's
/// "linear" squares a linspace of square roots), "sqrt_linear" → Linear.
BetaSchedule beta_schedule_from_compvis_name(std::string_view name);

/// The training schedule's hyper-parameters (SD 1.x/2.x defaults).
struct ScheduleConfig {
  BetaSchedule beta_schedule = BetaSchedule::ScaledLinear;
  double linear_start = 0.00085;
  double linear_end = 0.012;
  std::int64_t timesteps = 1000;
};

/// The σ table of a discrete-time diffusion model and the σ ↔ t conversions. Cheap to copy
/// (tensors are shared, never modified).
class DiscreteSchedule {
 public:
  /// betas (float64) → alphas_cumprod = float32(cumprod_f64(1-β)) → σ = √((1-ᾱ)/ᾱ) in float32.
  explicit DiscreteSchedule(const ScheduleConfig& config = {});

  /// From a checkpoint's float32 `alphas_cumprod` buffer (betas() is then undefined).
  /// Throws std::invalid_argument unless it is a 1-D table of at least 2 values in (0, 1].
  static DiscreteSchedule from_alphas_cumprod(const torch::Tensor& alphas_cumprod);

  /// float64 [T]; undefined when built from alphas_cumprod.
  const torch::Tensor& betas() const { return betas_; }
  /// float32 [T].
  const torch::Tensor& alphas_cumprod() const { return alphas_cumprod_; }
  /// float32 [T], ascending: sigmas()[t] is the noise level of timestep t.
  const torch::Tensor& sigmas() const { return sigmas_; }
  /// float32 [T] = log(sigmas()).
  const torch::Tensor& log_sigmas() const { return log_sigmas_; }
  /// T.
  std::int64_t size() const { return sigmas_.size(0); }

  /// 0-d float32 σ of t = 0 (0.0291675 for SD).
  torch::Tensor sigma_min() const { return sigmas_[0]; }
  /// 0-d float32 σ of t = T-1 (14.614642 for SD).
  torch::Tensor sigma_max() const { return sigmas_[size() - 1]; }

  /// The timestep of each σ (any shape, float32, CPU). quantize: the nearest table entry in
  /// log σ, int64 (what ComfyUI and k-diffusion's default do). Otherwise the fractional index
  /// interpolated linearly in log σ between the two bracketing entries, float32.
  torch::Tensor sigma_to_t(const torch::Tensor& sigma, bool quantize) const;

  /// σ of (fractional) timesteps: exp of log σ interpolated between floor(t) and ceil(t).
  torch::Tensor t_to_sigma(const torch::Tensor& t) const;

 private:
  struct Unset {};
  explicit DiscreteSchedule(Unset) {}
  void set_alphas_cumprod(torch::Tensor alphas_cumprod);

  torch::Tensor betas_;
  torch::Tensor alphas_cumprod_;
  torch::Tensor sigmas_;
  torch::Tensor log_sigmas_;
};

/// The network input scaling c_in = 1/√(σ²+1) (k-diffusion get_scalings with σ_data = 1).
torch::Tensor c_in(const torch::Tensor& sigma);

/// The denoised estimate x0 from the network output at (x, σ): Epsilon: x + out·(-σ);
/// V: out·c_out + x·c_skip with c_skip = 1/(σ²+1), c_out = -σ/√(σ²+1). `sigma` is 0-d or [B]
/// (one per batch row of x).
torch::Tensor denoised_from_output(Prediction prediction, const torch::Tensor& x,
                                   const torch::Tensor& sigma, const torch::Tensor& output);

/// `sigma` (0-d or [B]) viewed with trailing singleton dimensions so it broadcasts over x's rows
/// (k-diffusion utils.append_dims).
torch::Tensor append_dims(const torch::Tensor& sigma, std::int64_t target_dims);

}  // namespace diffgraph::sampling
