// ddim.cpp — CompVis DDIMSampler.p_sample_ddim, the same float32 operations in the same order.
#include "ddim.hpp"

#include <ATen/core/grad_mode.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "samplers.hpp"

namespace diffgraph::sampling {

std::vector<std::int64_t> ddim_timesteps(std::int64_t steps, std::int64_t train_timesteps) {
  if (steps < 1 || steps > train_timesteps) {
    throw std::invalid_argument("DDIM needs between 1 and " + std::to_string(train_timesteps) +
                                " steps, got " + std::to_string(steps));
  }
  const auto stride = train_timesteps / steps;
  std::vector<std::int64_t> timesteps;
  for (std::int64_t t = 0; t < train_timesteps; t += stride) timesteps.push_back(t + 1);
  return timesteps;
}

DdimCoefficients ddim_coefficients(const DiscreteSchedule& schedule,
                                   const std::vector<std::int64_t>& timesteps, double eta) {
  const auto table = schedule.alphas_cumprod().contiguous();
  const auto* alphas = table.data_ptr<float>();
  const auto size = schedule.size();
  const auto n = static_cast<std::int64_t>(timesteps.size());
  if (n == 0) throw std::invalid_argument("DDIM needs at least one timestep");
  for (std::size_t k = 0; k < timesteps.size(); ++k) {
    if (timesteps[k] < 0 || timesteps[k] >= size || (k > 0 && timesteps[k] <= timesteps[k - 1])) {
      throw std::invalid_argument("DDIM timesteps must be ascending and within [0, " + std::to_string(size) + ")");
    }
  }
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  DdimCoefficients out{at::empty({n}, f32), at::empty({n}, f32), at::empty({n}, f32), torch::Tensor()};
  for (std::int64_t i = 0; i < n; ++i) {
    // Sampling order: the largest timestep first.
    const auto k = static_cast<std::size_t>(n - 1 - i);
    const float a_t = alphas[timesteps[k]];
    const float a_prev = k == 0 ? alphas[0] : alphas[timesteps[k - 1]];
    // make_ddim_sampling_parameters computes sigma in float64 from the float32 alphas.
    const double at_d = a_t;
    const double ap_d = a_prev;
    const double sigma = eta * std::sqrt((1.0 - ap_d) / (1.0 - at_d) * (1.0 - at_d / ap_d));
    out.a_t[i] = a_t;
    out.a_prev[i] = a_prev;
    out.sigma_t[i] = static_cast<float>(sigma);
  }
  out.sqrt_one_minus_a_t = at::sqrt(1.0 - out.a_t);
  return out;
}

torch::Tensor ddim_sample(const EpsModel& eps_model, const DiscreteSchedule& schedule,
                          const std::vector<std::int64_t>& timesteps, const torch::Tensor& x_T, double eta,
                          const NoiseSampler& noise, const DdimCallback& callback) {
  if (!eps_model) throw std::invalid_argument("ddim_sample: no model");
  if (!x_T.defined() || x_T.dim() < 1) throw std::invalid_argument("ddim_sample: x_T is empty");
  if (eta != 0.0 && !noise) throw std::invalid_argument("ddim_sample: eta > 0 needs a noise sampler");
  at::NoGradGuard no_grad;
  const auto coefficients = ddim_coefficients(schedule, timesteps, eta);
  const auto n = static_cast<std::int64_t>(timesteps.size());
  const auto batch = x_T.size(0);
  auto x = x_T;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto t = timesteps[static_cast<std::size_t>(n - 1 - i)];
    const auto ts = at::full({batch}, t, at::TensorOptions().dtype(at::kLong));
    const auto e_t = eps_model(x, ts);
    if (!e_t.defined() || e_t.sizes() != x.sizes()) {
      throw std::runtime_error("ddim_sample: the model returned a tensor of another shape than x");
    }
    const auto a_t = coefficients.a_t[i];
    const auto a_prev = coefficients.a_prev[i];
    const auto sigma_t = coefficients.sigma_t[i];
    const auto sqrt_one_minus_at = coefficients.sqrt_one_minus_a_t[i];
    const auto pred_x0 = (x - sqrt_one_minus_at * e_t) / a_t.sqrt();
    const auto dir_xt = (1.0 - a_prev - at::pow(sigma_t, 2)).sqrt() * e_t;
    auto x_prev = a_prev.sqrt() * pred_x0 + dir_xt;
    if (sigma_t.item<float>() != 0.0f) {
      const auto sigma_next = at::scalar_tensor(0.0, at::kFloat);
      x_prev = x_prev + sigma_t * noise(sigma_t, sigma_next).to(x.options());
    }
    x = x_prev;
    if (callback && !callback(i, x, pred_x0)) throw SamplingCancelled(i);
  }
  return x;
}

}  // namespace diffgraph::sampling
