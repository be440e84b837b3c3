// schedulers.cpp — σ sequences, written as the same tensor operations as the Python references.
#include "schedulers.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace diffgraph::sampling {
namespace {

torch::Tensor append_zero(const torch::Tensor& sigmas) {
  return at::cat({sigmas, at::zeros({1}, sigmas.options())});
}

/// A float32 tensor of Python floats taken one by one from the table (ComfyUI builds several
/// schedules with `float(sigmas[i])` and torch.FloatTensor, i.e. exact copies of table entries).
torch::Tensor from_values(const std::vector<float>& values) {
  auto out = at::empty({static_cast<std::int64_t>(values.size())}, at::TensorOptions().dtype(at::kFloat));
  auto* data = out.data_ptr<float>();
  for (std::size_t i = 0; i < values.size(); ++i) data[i] = values[i];
  return out;
}

void check_steps(std::string_view scheduler, std::int64_t steps) {
  if (steps < 1) {
    throw std::invalid_argument("scheduler '" + std::string(scheduler) + "' needs at least 1 step, got " +
                                std::to_string(steps));
  }
}

/// The continued fraction of I_x(a, b) (its form converges for x < (a+1)/(a+b+2)), evaluated
/// with the modified Lentz method.
double incomplete_beta_fraction(double x, double a, double b) {
  constexpr double tiny = 1e-300;
  constexpr double eps = 1e-16;
  const auto guard = [](double v) { return std::fabs(v) < tiny ? tiny : v; };
  double c = 1.0;
  double d = 1.0 / guard(1.0 - (a + b) * x / (a + 1.0));
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const double m2 = 2.0 * m;
    // Even term d_2m = m(b-m)x / ((a+2m-1)(a+2m)).
    double coefficient = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
    d = 1.0 / guard(1.0 + coefficient * d);
    c = guard(1.0 + coefficient / c);
    h *= d * c;
    // Odd term d_2m+1 = -(a+m)(a+b+m)x / ((a+2m)(a+2m+1)).
    coefficient = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
    d = 1.0 / guard(1.0 + coefficient * d);
    c = guard(1.0 + coefficient / c);
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < eps) break;
  }
  return h;
}

}  // namespace

std::vector<std::string> scheduler_names() {
  return {"normal", "karras", "exponential", "sgm_uniform", "simple", "ddim_uniform", "beta"};
}

torch::Tensor karras_sigmas(std::int64_t n, double sigma_min, double sigma_max, double rho) {
  check_steps("karras", n);
  const auto ramp = at::linspace(0, 1, n);
  const double min_inv_rho = std::pow(sigma_min, 1.0 / rho);
  const double max_inv_rho = std::pow(sigma_max, 1.0 / rho);
  return append_zero(at::pow(ramp * (min_inv_rho - max_inv_rho) + max_inv_rho, rho));
}

torch::Tensor exponential_sigmas(std::int64_t n, double sigma_min, double sigma_max) {
  check_steps("exponential", n);
  return append_zero(at::linspace(std::log(sigma_max), std::log(sigma_min), n).exp());
}

torch::Tensor normal_sigmas(const DiscreteSchedule& schedule, std::int64_t steps, bool sgm) {
  check_steps(sgm ? "sgm_uniform" : "normal", steps);
  const auto start = schedule.sigma_to_t(schedule.sigma_max(), true).item<std::int64_t>();
  const auto end = schedule.sigma_to_t(schedule.sigma_min(), true).item<std::int64_t>();
  bool zero_last = true;
  torch::Tensor timesteps;
  if (sgm) {
    timesteps = at::linspace(start, end, steps + 1).slice(0, 0, steps);
  } else {
    // Schedules whose last table entry is 0 (zero terminal SNR) already end at 0.
    if (std::fabs(schedule.t_to_sigma(at::scalar_tensor(end, at::kFloat)).item<float>()) <= 1e-5) {
      ++steps;
      zero_last = false;
    }
    timesteps = at::linspace(start, end, steps);
  }
  const auto sigmas = schedule.t_to_sigma(timesteps);
  return zero_last ? append_zero(sigmas) : sigmas;
}

torch::Tensor simple_sigmas(const DiscreteSchedule& schedule, std::int64_t steps) {
  check_steps("simple", steps);
  const auto table = schedule.sigmas().contiguous();
  const auto* data = table.data_ptr<float>();
  const std::int64_t size = schedule.size();
  const double stride = static_cast<double>(size) / static_cast<double>(steps);
  std::vector<float> values;
  for (std::int64_t i = 0; i < steps; ++i) {
    const auto back = 1 + static_cast<std::int64_t>(static_cast<double>(i) * stride);
    values.push_back(data[size - std::min(back, size)]);
  }
  values.push_back(0.0f);
  return from_values(values);
}

torch::Tensor ddim_uniform_sigmas(const DiscreteSchedule& schedule, std::int64_t steps) {
  check_steps("ddim_uniform", steps);
  const auto table = schedule.sigmas().contiguous();
  const auto* data = table.data_ptr<float>();
  const std::int64_t size = schedule.size();
  std::vector<float> values;
  if (std::fabs(static_cast<double>(data[1])) <= 1e-5) {
    ++steps;
  } else {
    values.push_back(0.0f);
  }
  const std::int64_t stride = std::max<std::int64_t>(size / steps, 1);
  for (std::int64_t t = 1; t < size; t += stride) values.push_back(data[t]);
  std::reverse(values.begin(), values.end());
  return from_values(values);
}

double regularized_incomplete_beta(double x, double a, double b) {
  if (!(a > 0.0) || !(b > 0.0)) throw std::invalid_argument("incomplete beta needs a > 0 and b > 0");
  if (!(x >= 0.0 && x <= 1.0)) throw std::invalid_argument("incomplete beta needs x in [0, 1]");
  if (x == 0.0) return 0.0;
  if (x == 1.0) return 1.0;
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  const double front = std::exp(log_front);
  if (x < (a + 1.0) / (a + b + 2.0)) return front * incomplete_beta_fraction(x, a, b) / a;
  return 1.0 - front * incomplete_beta_fraction(1.0 - x, b, a) / b;
}

double beta_ppf(double p, double a, double b) {
  if (!(p >= 0.0 && p <= 1.0)) throw std::invalid_argument("beta_ppf needs p in [0, 1]");
  if (!(a > 0.0) || !(b > 0.0)) throw std::invalid_argument("beta_ppf needs a > 0 and b > 0");
  if (p == 0.0) return 0.0;
  if (p == 1.0) return 1.0;
  if (a < 1.0 && b < 1.0) {
    // The CDF has its inflection point at xs; when p falls on it (p = 1/2 for a = b), return xs
    // as computed, as Boost's ibeta_inv (behind scipy's beta.ppf) does: the beta scheduler
    // rounds ppf·999 ≈ 499.5, so a bisection result 1 ulp below 0.5 would pick another timestep.
    const double xs = (1.0 - a) / (2.0 - a - b);
    const double fs = regularized_incomplete_beta(xs, a, b) - p;
    if (std::fabs(fs) / p < 3.0 * std::numeric_limits<double>::epsilon()) return xs;
  }
  // The CDF is monotone, so bisection always converges; stop when the bracket cannot shrink.
  double lo = 0.0;
  double hi = 1.0;
  for (int iteration = 0; iteration < 2000; ++iteration) {
    const double mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    if (regularized_incomplete_beta(mid, a, b) < p) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  const double f_lo = std::fabs(regularized_incomplete_beta(lo, a, b) - p);
  const double f_hi = std::fabs(regularized_incomplete_beta(hi, a, b) - p);
  return f_lo < f_hi ? lo : hi;
}

torch::Tensor beta_sigmas(const DiscreteSchedule& schedule, std::int64_t steps, double alpha, double beta) {
  check_steps("beta", steps);
  const auto table = schedule.sigmas().contiguous();
  const auto* data = table.data_ptr<float>();
  const auto total_timesteps = static_cast<double>(schedule.size() - 1);
  // numpy.linspace(0, 1, steps, endpoint=False) is k * (1/steps).
  const double spacing = 1.0 / static_cast<double>(steps);
  std::vector<float> values;
  double last_t = -1.0;
  for (std::int64_t k = 0; k < steps; ++k) {
    const double p = 1.0 - static_cast<double>(k) * spacing;
    // numpy.rint: round half to even (the default rounding mode of nearbyint).
    const double t = std::nearbyint(beta_ppf(p, alpha, beta) * total_timesteps);
    if (t != last_t) values.push_back(data[static_cast<std::int64_t>(t)]);
    last_t = t;
  }
  values.push_back(0.0f);
  return from_values(values);
}

torch::Tensor compute_sigmas(const DiscreteSchedule& schedule, std::string_view scheduler,
                             std::int64_t steps) {
  const auto sigma_min = static_cast<double>(schedule.sigma_min().item<float>());
  const auto sigma_max = static_cast<double>(schedule.sigma_max().item<float>());
  if (scheduler == "normal") return normal_sigmas(schedule, steps, false);
  if (scheduler == "karras") return karras_sigmas(steps, sigma_min, sigma_max);
  if (scheduler == "exponential") return exponential_sigmas(steps, sigma_min, sigma_max);
  if (scheduler == "sgm_uniform") return normal_sigmas(schedule, steps, true);
  if (scheduler == "simple") return simple_sigmas(schedule, steps);
  if (scheduler == "ddim_uniform") return ddim_uniform_sigmas(schedule, steps);
  if (scheduler == "beta") return beta_sigmas(schedule, steps);
  throw std::invalid_argument("unknown scheduler '" + std::string(scheduler) +
                              "'; valid schedulers: " + join_names(scheduler_names()));
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace diffgraph::sampling
