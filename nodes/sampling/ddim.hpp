// ddim.hpp — CompVis's DDIMSampler: DDIM on the training timesteps, in ε space.
//
// This is the original Stable Diffusion scripts' sampler (ldm/models/diffusion/ddim.py), which
// works on timesteps and alphas rather than σ: it starts from x_T = noise (not noise·σ), calls the
// network on the raw x at integer timesteps, and steps
//   pred_x0 = (x - √(1-a_t)·ε) / √a_t,   x ← √a_prev·pred_x0 + √(1-a_prev-σ_t²)·ε + σ_t·noise.
// ComfyUI's sampler called "ddim" is different (Euler steps in σ form, see samplers.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/types.h>

#include "guidance.hpp"
#include "noise.hpp"
#include "noise_schedule.hpp"

namespace diffgraph::sampling {

/// make_ddim_timesteps("uniform", steps, train_timesteps): range(0, T, T // steps) + 1, ascending
/// (876 … for 8 steps: 1, 126, 251, …, 876). Throws std::invalid_argument unless 1 <= steps <= T.
std::vector<std::int64_t> ddim_timesteps(std::int64_t steps, std::int64_t train_timesteps = 1000);

/// The per-step coefficients in sampling order (descending timesteps), float32 [steps] each:
/// a_t = ᾱ[t], a_prev = ᾱ of the next (smaller) timestep — ᾱ[0] for the last step, not 1 —,
/// sigma_t = eta·√((1-a_prev)/(1-a_t)·(1-a_t/a_prev)) and sqrt_one_minus_a_t = √(1-a_t).
struct DdimCoefficients {
  torch::Tensor a_t;
  torch::Tensor a_prev;
  torch::Tensor sigma_t;
  torch::Tensor sqrt_one_minus_a_t;
};
DdimCoefficients ddim_coefficients(const DiscreteSchedule& schedule,
                                   const std::vector<std::int64_t>& timesteps, double eta);

/// Called after every step with the step index, x after the step and that step's pred_x0; false
/// cancels (SamplingCancelled).
using DdimCallback =
    std::function<bool(std::int64_t step, const torch::Tensor& x, const torch::Tensor& pred_x0)>;

/// Runs DDIM from x_T over `timesteps` (ascending, as ddim_timesteps returns them; sampled in
/// descending order). `eps_model` gives the (guided) ε at integer timesteps [B] int64. `noise` is
/// needed only when eta > 0 (one draw per step).
torch::Tensor ddim_sample(const EpsModel& eps_model, const DiscreteSchedule& schedule,
                          const std::vector<std::int64_t>& timesteps, const torch::Tensor& x_T, double eta,
                          const NoiseSampler& noise = {}, const DdimCallback& callback = {});

}  // namespace diffgraph::sampling
