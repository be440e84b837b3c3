// schedulers.hpp — the σ sequences a sampler walks, under ComfyUI's scheduler names.
//
// Every scheduler returns a float32 CPU tensor of decreasing noise levels that ends in 0 — for
// `steps` steps that is steps+1 values, except where ComfyUI itself returns another count
// (ddim_uniform when 1000 is not a multiple of steps; beta when rounding merges timesteps), which
// is reproduced rather than "fixed" so a graph gives the same image as in ComfyUI.
// The float operations follow k-diffusion's get_sigmas_* / DiscreteSchedule.get_sigmas and
// ComfyUI's comfy/samplers.py, so the tables match theirs bit for bit on the same LibTorch build.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <torch/types.h>

#include "noise_schedule.hpp"

namespace diffgraph::sampling {

/// ComfyUI's scheduler names, in ComfyUI's menu order: normal, karras, exponential, sgm_uniform,
/// simple, ddim_uniform, beta.
std::vector<std::string> scheduler_names();

/// `names` joined with ", ": the valid choices an error message lists (samplers, schedulers).
std::string join_names(const std::vector<std::string>& names);

/// The σ sequence of `scheduler` for `steps` steps (steps >= 1). Unknown name → std::invalid_argument
/// naming it and listing the valid names.
///  * normal: t = linspace(t(σ_max), t(σ_min), steps) in float32, σ = t_to_sigma(t), then 0.
///  * karras: Karras et al. ρ = 7 between σ_min and σ_max, then 0.
///  * exponential: exp(linspace(log σ_max, log σ_min, steps)), then 0.
///  * sgm_uniform: as normal over steps+1 timesteps, the last dropped, then 0.
///  * simple: table entries T-1-int(i·T/steps), then 0.
///  * ddim_uniform: table entries 1, 1+T//steps, ... (< T) reversed, then 0.
///  * beta: table entries at rint(ppf_Beta(0.6, 0.6)(1 - i/steps)·(T-1)), consecutive duplicates
///    dropped, then 0.
torch::Tensor compute_sigmas(const DiscreteSchedule& schedule, std::string_view scheduler,
                             std::int64_t steps);

/// k-diffusion get_sigmas_karras: (σmax^(1/ρ) + linspace(0,1,n)·(σmin^(1/ρ) - σmax^(1/ρ)))^ρ, then 0.
torch::Tensor karras_sigmas(std::int64_t n, double sigma_min, double sigma_max, double rho = 7.0);

/// k-diffusion get_sigmas_exponential: exp(linspace(log σmax, log σmin, n)), then 0.
torch::Tensor exponential_sigmas(std::int64_t n, double sigma_min, double sigma_max);

/// ComfyUI normal_scheduler (sgm = false: k-diffusion's DiscreteSchedule.get_sigmas(n)) and
/// sgm_uniform (sgm = true).
torch::Tensor normal_sigmas(const DiscreteSchedule& schedule, std::int64_t steps, bool sgm);

/// ComfyUI simple_scheduler.
torch::Tensor simple_sigmas(const DiscreteSchedule& schedule, std::int64_t steps);

/// ComfyUI ddim_scheduler.
torch::Tensor ddim_uniform_sigmas(const DiscreteSchedule& schedule, std::int64_t steps);

/// ComfyUI beta_scheduler (arXiv:2407.12173) with Beta(alpha, beta) quantiles.
torch::Tensor beta_sigmas(const DiscreteSchedule& schedule, std::int64_t steps, double alpha = 0.6,
                          double beta = 0.6);

/// The regularized incomplete beta function I_x(a, b), the CDF of Beta(a, b) (a, b > 0, x in [0,1]).
double regularized_incomplete_beta(double x, double a, double b);

/// The quantile function of Beta(a, b): the x with I_x(a, b) = p, to about 1e-15 (as scipy's
/// beta.ppf). p outside [0, 1] → std::invalid_argument.
double beta_ppf(double p, double a, double b);

}  // namespace diffgraph::sampling
