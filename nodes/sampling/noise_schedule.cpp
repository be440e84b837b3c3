// noise_schedule.cpp — the discrete schedule, with k-diffusion's operations in k-diffusion's order.
#include "noise_schedule.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace diffgraph::sampling {

Prediction prediction_from_name(std::string_view name) {
  if (name == "eps" || name == "epsilon") return Prediction::Epsilon;
  if (name == "v" || name == "v_prediction") return Prediction::V;
  throw std::invalid_argument("unknown prediction type '" + std::string(name) +
                              "'; valid: eps, epsilon, v, v_prediction");
}

std::string_view prediction_name(Prediction prediction) {
  return prediction == Prediction::V ? "v_prediction" : "epsilon";
}

BetaSchedule beta_schedule_from_name(std::string_view name) {
  if (name == "scaled_linear") return BetaSchedule::ScaledLinear;
  if (name == "linear") return BetaSchedule::Linear;
  throw std::invalid_argument("unknown beta schedule '" + std::string(name) +
                              "'; valid: scaled_linear, linear");
}

BetaSchedule beta_schedule_from_compvis_name(std::string_view name) {
  if (name == "linear") return BetaSchedule::ScaledLinear;
  if (name == "sqrt_linear") return BetaSchedule::Linear;
  throw std::invalid_argument("unknown CompVis beta schedule '" + std::string(name) +
                              "'; valid: linear, sqrt_linear");
}

DiscreteSchedule::DiscreteSchedule(const ScheduleConfig& config) {
  if (config.timesteps < 2) {
    throw std::invalid_argument("ScheduleConfig.timesteps must be at least 2, got " +
                                std::to_string(config.timesteps));
  }
  if (!(config.linear_start > 0.0) || !(config.linear_end < 1.0) ||
      !(config.linear_start <= config.linear_end)) {
    throw std::invalid_argument("ScheduleConfig needs 0 < linear_start <= linear_end < 1");
  }
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  if (config.beta_schedule == BetaSchedule::ScaledLinear) {
    // CompVis make_beta_schedule("linear"): the endpoints go through Python's `** 0.5`, which is
    // C pow(), then linspace in float64 and `** 2`.
    betas_ = at::pow(at::linspace(std::pow(config.linear_start, 0.5), std::pow(config.linear_end, 0.5),
                                  config.timesteps, f64),
                     2);
  } else {
    betas_ = at::linspace(config.linear_start, config.linear_end, config.timesteps, f64);
  }
  // CompVis: alphas = 1 - betas and np.cumprod in float64 (both sequential, so torch's cumprod
  // gives the same numbers), then stored as float32.
  set_alphas_cumprod(at::cumprod(1.0 - betas_, 0).to(at::kFloat));
}

DiscreteSchedule DiscreteSchedule::from_alphas_cumprod(const torch::Tensor& alphas_cumprod) {
  if (!alphas_cumprod.defined() || alphas_cumprod.dim() != 1 || alphas_cumprod.size(0) < 2) {
    throw std::invalid_argument("alphas_cumprod must be a 1-D table of at least 2 values");
  }
  auto table = alphas_cumprod.detach().to(at::kCPU, at::kFloat).contiguous();
  if (!(table.gt(0).all().item<bool>() && table.le(1).all().item<bool>())) {
    throw std::invalid_argument("alphas_cumprod values must lie in (0, 1]");
  }
  DiscreteSchedule schedule{Unset{}};
  schedule.set_alphas_cumprod(table);
  return schedule;
}

void DiscreteSchedule::set_alphas_cumprod(torch::Tensor alphas_cumprod) {
  alphas_cumprod_ = std::move(alphas_cumprod);
  // k-diffusion DiscreteEpsDDPMDenoiser: ((1 - ac) / ac) ** 0.5, all in float32.
  sigmas_ = at::pow((1 - alphas_cumprod_) / alphas_cumprod_, 0.5);
  log_sigmas_ = sigmas_.log();
}

torch::Tensor DiscreteSchedule::sigma_to_t(const torch::Tensor& sigma, bool quantize) const {
  const auto log_sigma = sigma.to(at::kCPU, at::kFloat).log();
  const auto dists = log_sigma - log_sigmas_.unsqueeze(1);
  if (quantize) return dists.abs().argmin(0).view(sigma.sizes());
  // The largest i <= T-2 with log_sigmas[i] <= log σ (0 when there is none): the cumulative
  // count of "table <= log σ" peaks first at that index.
  const auto low_idx = dists.ge(0).cumsum(0).argmax(0).clamp_max(size() - 2);
  const auto high_idx = low_idx + 1;
  const auto low = log_sigmas_.index({low_idx});
  const auto high = log_sigmas_.index({high_idx});
  const auto w = ((low - log_sigma) / (low - high)).clamp(0, 1);
  const auto t = (1 - w) * low_idx + w * high_idx;
  return t.view(sigma.sizes());
}

torch::Tensor DiscreteSchedule::t_to_sigma(const torch::Tensor& t) const {
  const auto tf = t.to(at::kCPU).to(at::kFloat);
  const auto low_idx = tf.floor().to(at::kLong);
  const auto high_idx = tf.ceil().to(at::kLong);
  const auto w = tf.frac();
  const auto log_sigma = (1 - w) * log_sigmas_.index({low_idx}) + w * log_sigmas_.index({high_idx});
  return log_sigma.exp();
}

torch::Tensor append_dims(const torch::Tensor& sigma, std::int64_t target_dims) {
  auto shape = sigma.sizes().vec();
  if (static_cast<std::int64_t>(shape.size()) > target_dims) {
    throw std::invalid_argument("sigma has more dimensions than the sample it scales");
  }
  shape.resize(static_cast<std::size_t>(target_dims), 1);
  return sigma.view(shape);
}

torch::Tensor c_in(const torch::Tensor& sigma) {
  // 1 / (σ**2 + σ_data**2) ** 0.5; Python's `1 / t` is reciprocal(t) * 1.
  return at::reciprocal(at::pow(at::pow(sigma, 2) + 1.0, 0.5));
}

torch::Tensor denoised_from_output(Prediction prediction, const torch::Tensor& x,
                                   const torch::Tensor& sigma, const torch::Tensor& output) {
  const auto s = append_dims(sigma.to(x.device()), x.dim());
  if (prediction == Prediction::Epsilon) {
    // CompVisDenoiser: input + eps * c_out with c_out = -σ.
    return x + output * (-s);
  }
  // CompVisVDenoiser (σ_data = 1): c_skip = 1/(σ²+1), c_out = -σ/√(σ²+1).
  const auto denom = at::pow(s, 2) + 1.0;
  const auto c_skip = at::reciprocal(denom);
  const auto c_out = (-s) * 1.0 / at::pow(denom, 0.5);
  return output * c_out + x * c_skip;
}

}  // namespace diffgraph::sampling
