// samplers.cpp — the samplers, as state machines over model calls.
//
// Each consume() is the body of the matching k-diffusion `sample_*` loop (ComfyUI's for ddpm, lcm
// and uni_pc), written with the same tensor operations in the same order: σ values are 0-d float32
// tensors, so sigma arithmetic rounds exactly as in PyTorch, and with the same LibTorch kernels the
// trajectories agree bit for bit. Where k-diffusion and current ComfyUI differ only by rounding on
// the step to σ = 0 (ComfyUI's `x = denoised` vs an Euler step that lands there), k-diffusion's form
// is used, since the golden fixtures come from it.
#include "samplers.hpp"
#include "schedulers.hpp"

#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

namespace diffgraph::sampling {
namespace {

torch::Tensor sigma_at(const SamplerState& state, std::int64_t i) { return state.sigmas[i]; }

float value_of(const torch::Tensor& t) { return t.item<float>(); }

/// k-diffusion to_d: the Karras ODE derivative (x - x0)/σ.
torch::Tensor to_d(const torch::Tensor& x, const torch::Tensor& sigma, const torch::Tensor& denoised) {
  return (x - denoised) / sigma;
}

/// k-diffusion get_ancestral_step: the noise level to step down to and the noise to add back.
std::pair<torch::Tensor, torch::Tensor> ancestral_step(const torch::Tensor& sigma_from,
                                                       const torch::Tensor& sigma_to, double eta) {
  if (eta == 0.0) return {sigma_to, at::zeros_like(sigma_to)};
  const auto variance = at::pow(sigma_to, 2) * (at::pow(sigma_from, 2) - at::pow(sigma_to, 2)) /
                        at::pow(sigma_from, 2);
  const auto up_candidate = at::pow(variance, 0.5) * eta;
  // Python's min(a, b) keeps a unless b < a.
  const auto sigma_up = value_of(up_candidate) < value_of(sigma_to) ? up_candidate : sigma_to;
  const auto sigma_down = at::pow(at::pow(sigma_to, 2) - at::pow(sigma_up, 2), 0.5);
  return {sigma_down, sigma_up};
}

torch::Tensor draw_noise(const SamplerState& state, const torch::Tensor& sigma,
                         const torch::Tensor& sigma_next, const torch::Tensor& like) {
  auto noise = state.noise(sigma, sigma_next);
  if (!noise.defined() || noise.sizes() != like.sizes()) {
    throw std::invalid_argument("noise sampler returned a tensor of the wrong shape (sample shape " +
                                std::to_string(like.dim()) + "-d [" + std::to_string(like.numel()) +
                                " values])");
  }
  return noise.to(like.options());
}

torch::Tensor neg_log(const torch::Tensor& sigma) { return sigma.log().neg(); }
torch::Tensor exp_neg(const torch::Tensor& t) { return t.neg().exp(); }

const torch::Tensor& remembered(const SamplerState& state, const std::string& key) {
  const auto it = state.memory.find(key);
  if (it == state.memory.end()) {
    throw std::logic_error("sampler state lacks '" + key + "' (state from another sampler?)");
  }
  return it->second;
}

// ---------------------------------------------------------------------------------------------
// First-order samplers: one call per step.

/// sample_euler (s_churn = 0). ComfyUI's "ddim" is this sampler.
class EulerSampler final : public Sampler {
 public:
  EulerSampler(SamplerOptions options, bool comfy_ddim)
      : Sampler(std::move(options)), comfy_ddim_(comfy_ddim) {}
  std::string_view name() const override { return comfy_ddim_ ? "ddim" : "euler"; }
  bool inpaint_fresh_noise() const override { return comfy_ddim_; }

 protected:
  void consume(SamplerState& state, const torch::Tensor& denoised) const override {
    const auto sigma = sigma_at(state, state.step);
    const auto sigma_next = sigma_at(state, state.step + 1);
    const auto& x = state.model_x;
    const auto d = to_d(x, sigma, denoised);
    const auto dt = sigma_next - sigma;
    finish_step(state, x + d * dt);
  }

 private:
  bool comfy_ddim_;
};

/// sample_euler_ancestral.
class EulerAncestralSampler final : public Sampler {
 public:
  explicit EulerAncestralSampler(SamplerOptions options) : Sampler(std::move(options)) {}
  std::string_view name() const override { return "euler_ancestral"; }
  NoiseKind noise_kind() const override { return NoiseKind::Sequence; }

 protected:
  void consume(SamplerState& state, const torch::Tensor& denoised) const override {
    const auto sigma = sigma_at(state, state.step);
    const auto sigma_next = sigma_at(state, state.step + 1);
    const auto& x = state.model_x;
    const auto [sigma_down, sigma_up] = ancestral_step(sigma, sigma_next, options_.eta);
    const auto d = to_d(x, sigma, denoised);
    const auto dt = sigma_down - sigma;
    auto out = x + d * dt;
    if (value_of(sigma_next) > 0) {
      out = out + draw_noise(state, sigma, sigma_next, x) * options_.s_noise * sigma_up;
    }
    finish_step(state, out);
  }
};

/// sample_lms. history: the last `order` derivatives d, oldest first.
class LmsSampler final : public Sampler {
 public:
  explicit LmsSampler(SamplerOptions options) : Sampler(std::move(options)) {}
  std::string_view name() const override { return "lms"; }

 protected:
  void consume(SamplerState& state, const torch::Tensor& denoised) const override {
    const auto i = state.step;
    const auto sigma = sigma_at(state, i);
    const auto& x = state.model_x;
    state.history.push_back(to_d(x, sigma, denoised));
    if (static_cast<int>(state.history.size()) > options_.lms_order) state.history.pop_front();
    if (options_.lms_final_denoised && value_of(sigma_at(state, i + 1)) == 0) {
      finish_step(state, denoised);
      return;
    }
    const int order = static_cast<int>(std::min<std::int64_t>(i + 1, options_.lms_order));
    const auto table = state.sigmas.contiguous();
    const std::vector<float> sigmas(table.data_ptr<float>(), table.data_ptr<float>() + table.numel());
    const auto coefficients = lms_coefficients(sigmas, i, order);
    // x + sum(coeff * d for coeff, d in zip(coeffs, reversed(ds))), Python's sum starting at 0.
    const auto newest = static_cast<std::int64_t>(state.history.size()) - 1;
    auto total = at::add(state.history[static_cast<std::size_t>(newest)] * coefficients[0], 0);
    for (int j = 1; j < order; ++j) {
      total = total + state.history[static_cast<std::size_t>(newest - j)] * coefficients[static_cast<std::size_t>(j)];
    }
    finish_step(state, x + total);
  }
};

/// sample_dpmpp_2m. memory: old_denoised.
class Dpmpp2mSampler final : public Sampler {
 public:
  explicit Dpmpp2mSampler(SamplerOptions options) : Sampler(std::move(options)) {}
  std::string_view name() const override { return "dpmpp_2m"; }

 protected:
  void consume(SamplerState& state, const torch::Tensor& denoised) const override {
    const auto i = state.step;
    const auto sigma = sigma_at(state, i);
    const auto sigma_next = sigma_at(state, i + 1);
    const auto& x = state.model_x;
    const auto t = neg_log(sigma);
    const auto t_next = neg_log(sigma_next);
    const auto h = t_next - t;
    const auto ratio = exp_neg(t_next) / exp_neg(t);
    const auto old = state.memory.find("old_denoised");
    torch::Tensor out;
    if (old == state.memory.end() || value_of(sigma_next) == 0) {
      out = ratio * x - (-h).expm1() * denoised;
    } else {
      const auto h_last = t - neg_log(sigma_at(state, i - 1));
      const auto r = h_last / h;
      const auto half_inv_r = at::reciprocal(r * 2);
      const auto denoised_d = (half_inv_r + 1) * denoised - half_inv_r * old->second;
      out = ratio * x - (-h).expm1() * denoised_d;
    }
    state.memory["old_denoised"] = denoised;
    finish_step(state, out);
  }
};

/// sample_dpmpp_2m_sde (k-diffusion form). memory: old_denoised, h_last.
class Dpmpp2mSdeSampler final : public Sampler {
 public:
  explicit Dpmpp2mSdeSampler(SamplerOptions options) : Sampler(std::move(options)) {}
  std::string_view name() const override { return "dpmpp_2m_sde"; }
  NoiseKind noise_kind() const override { return NoiseKind::BrownianTree; }

 protected:
  void consume(SamplerState& state, const torch::Tensor& denoised) const override {
    const auto i = state.step;
    const auto sigma = sigma_at(state, i);
    const auto sigma_next = sigma_at(state, i + 1);
    const auto& x = state.model_x;
    torch::Tensor out;
    if (value_of(sigma_next) == 0) {
      out = denoised;
    } else {
      const auto t = neg_log(sigma);
      const auto s = neg_log(sigma_next);
      const auto h = s - t;
      const auto eta_h = h * options_.eta;
      const auto decay = (-h - eta_h).expm1().neg();
      out = sigma_next / sigma * (-eta_h).exp() * x + decay * denoised;
      const auto old = state.memory.find("old_denoised");
      if (old != state.memory.end()) {
        const auto inv_r = at::reciprocal(remembered(state, "h_last") / h);
        if (options_.solver_type == "heun") {
          out = out + (decay / (-h - eta_h) + 1) * inv_r * (denoised - old->second);
        } else {
          out = out + decay * 0.5 * inv_r * (denoised - old->second);
        }
      }
      if (options_.eta != 0.0) {
        out = out + draw_noise(state, sigma, sigma_next, x) * sigma_next *
                        (eta_h * -2).expm1().neg().sqrt() * options_.s_noise;
      }
      state.memory["h_last"] = h;
    }
    state.memory["old_denoised"] = denoised;
    finish_step(state, out);
  }
};

/// ComfyUI sample_ddpm: the DDPM ancestral step in variance-preserving coordinates.
class DdpmSampler final : public Sampler {
 public:
  explicit DdpmSampler(SamplerOptions options) : Sampler(std::move(options)) {}
  std::string_view name() const override { return "ddpm"; }
  NoiseKind noise_kind() const override { return NoiseKind::Sequence; }

 protected:
  void consume(SamplerState& state, const torch::Tensor& denoised) const override {
    const auto sigma = sigma_at(state, state.step);
    const auto sigma_prev = sigma_at(state, state.step + 1);
    const auto& x = state.model_x;
    const auto x_vp = x / at::sqrt(at::pow(sigma, 2.0) + 1.0);
    const auto eps = (x - denoised) / sigma;
    const auto alpha_cumprod = at::reciprocal(sigma * sigma + 1);
    const auto alpha_cumprod_prev = at::reciprocal(sigma_prev * sigma_prev + 1);
    const auto alpha = alpha_cumprod / alpha_cumprod_prev;
    auto mu = at::reciprocal(alpha).sqrt() * (x_vp - (1 - alpha) * eps / (1 - alpha_cumprod).sqrt());
    if (value_of(sigma_prev) > 0) {
      mu = mu + ((1 - alpha) * (1.0 - alpha_cumprod_prev) / (1.0 - alpha_cumprod)).sqrt() *
                    draw_noise(state, sigma, sigma_prev, x);
      mu = mu * at::sqrt(at::pow(sigma_prev, 2.0) + 1.0);
    }
    finish_step(state, mu);
  }
};

/// ComfyUI sample_lcm: jump to the denoised estimate, re-noise to the next level.
class LcmSampler final : public Sampler {
 public:
  explicit LcmSampler(SamplerOptions options) : Sampler(std::move(options)) {}
  std::string_view name() const override { return "lcm"; }
  NoiseKind noise_kind() const override { return NoiseKind::Sequence; }

 protected:
  void consume(SamplerState& state, const torch::Tensor& denoised) const override {
    const auto sigma = sigma_at(state, state.step);
    const auto sigma_next = sigma_at(state, state.step + 1);
    auto out = denoised;
    if (value_of(sigma_next) > 0) {
      auto noise = draw_noise(state, sigma, sigma_next, denoised);
      if (options_.s_noise != 1.0) noise = noise * options_.s_noise;
      out = noise * sigma_next + denoised;
    }
    finish_step(state, out);
  }
};

// ---------------------------------------------------------------------------------------------
// Two-call samplers: the second call's input and σ come from the first (stage 1).

/// sample_heun (s_churn = 0). memory: d, dt.
class HeunSampler final : public Sampler {
 public:
  explicit HeunSampler(SamplerOptions options) : Sampler(std::move(options)) {}
  std::string_view name() const override { return "heun"; }
  int calls_at_step(const torch::Tensor& sigmas, std::int64_t i) const override {
    return sigmas[i + 1].item<float>() == 0 ? 1 : 2;
  }

 protected:
  void consume(SamplerState& state, const torch::Tensor& denoised) const override {
    const auto sigma = sigma_at(state, state.step);
    const auto sigma_next = sigma_at(state, state.step + 1);
    if (state.stage == 0) {
      const auto& x = state.model_x;
      const auto d = to_d(x, sigma, denoised);
      const auto dt = sigma_next - sigma;
      if (value_of(sigma_next) == 0) {
        finish_step(state, x + d * dt);
        return;
      }
      state.memory["d"] = d;
      state.memory["dt"] = dt;
      state.stage = 1;
      state.model_x = x + d * dt;
      state.model_sigma = sigma_next;
      return;
    }
    const auto d_2 = to_d(state.model_x, sigma_next, denoised);
    const auto d_prime = (remembered(state, "d") + d_2) / 2;
    finish_step(state, state.x + d_prime * remembered(state, "dt"));
  }
};

/// sample_dpm_2 (s_churn = 0). memory: dt_2.
class Dpm2Sampler final : public Sampler {
 public:
  explicit Dpm2Sampler(SamplerOptions options) : Sampler(std::move(options)) {}
  std::string_view name() const override { return "dpm_2"; }
  int calls_at_step(const torch::Tensor& sigmas, std::int64_t i) const override {
    return sigmas[i + 1].item<float>() == 0 ? 1 : 2;
  }

 protected:
  void consume(SamplerState& state, const torch::Tensor& denoised) const override {
    const auto sigma = sigma_at(state, state.step);
    const auto sigma_next = sigma_at(state, state.step + 1);
    if (state.stage == 0) {
      const auto& x = state.model_x;
      const auto d = to_d(x, sigma, denoised);
      if (value_of(sigma_next) == 0) {
        finish_step(state, x + d * (sigma_next - sigma));
        return;
      }
      const auto sigma_mid = sigma.log().lerp(sigma_next.log(), 0.5).exp();
      state.memory["dt_2"] = sigma_next - sigma;
      state.stage = 1;
      state.model_x = x + d * (sigma_mid - sigma);
      state.model_sigma = sigma_mid;
      return;
    }
    const auto d_2 = to_d(state.model_x, state.model_sigma, denoised);
    finish_step(state, state.x + d_2 * remembered(state, "dt_2"));
  }
};

/// sample_dpm_2_ancestral. memory: dt_2, sigma_up.
class Dpm2AncestralSampler final : public Sampler {
 public:
  explicit Dpm2AncestralSampler(SamplerOptions options) : Sampler(std::move(options)) {}
  std::string_view name() const override { return "dpm_2_ancestral"; }
  NoiseKind noise_kind() const override { return NoiseKind::Sequence; }
  int calls_at_step(const torch::Tensor& sigmas, std::int64_t i) const override {
    const auto [down, up] = ancestral_step(sigmas[i], sigmas[i + 1], options_.eta);
    return down.item<float>() == 0 ? 1 : 2;
  }

 protected:
  void consume(SamplerState& state, const torch::Tensor& denoised) const override {
    const auto sigma = sigma_at(state, state.step);
    const auto sigma_next = sigma_at(state, state.step + 1);
    if (state.stage == 0) {
      const auto& x = state.model_x;
      const auto [sigma_down, sigma_up] = ancestral_step(sigma, sigma_next, options_.eta);
      const auto d = to_d(x, sigma, denoised);
      if (value_of(sigma_down) == 0) {
        finish_step(state, x + d * (sigma_down - sigma));
        return;
      }
      const auto sigma_mid = sigma.log().lerp(sigma_down.log(), 0.5).exp();
      state.memory["dt_2"] = sigma_down - sigma;
      state.memory["sigma_up"] = sigma_up;
      state.stage = 1;
      state.model_x = x + d * (sigma_mid - sigma);
      state.model_sigma = sigma_mid;
      return;
    }
    const auto d_2 = to_d(state.model_x, state.model_sigma, denoised);
    auto out = state.x + d_2 * remembered(state, "dt_2");
    out = out + draw_noise(state, sigma, sigma_next, out) * options_.s_noise * remembered(state, "sigma_up");
    finish_step(state, out);
  }
};

/// sample_dpmpp_2s_ancestral. memory: t, t_next, h, sigma_up.
class Dpmpp2sAncestralSampler final : public Sampler {
 public:
  explicit Dpmpp2sAncestralSampler(SamplerOptions options) : Sampler(std::move(options)) {}
  std::string_view name() const override { return "dpmpp_2s_ancestral"; }
  NoiseKind noise_kind() const override { return NoiseKind::Sequence; }
  int calls_at_step(const torch::Tensor& sigmas, std::int64_t i) const override {
    const auto [down, up] = ancestral_step(sigmas[i], sigmas[i + 1], options_.eta);
    return down.item<float>() == 0 ? 1 : 2;
  }

 protected:
  void consume(SamplerState& state, const torch::Tensor& denoised) const override {
    const auto sigma = sigma_at(state, state.step);
    const auto sigma_next = sigma_at(state, state.step + 1);
    torch::Tensor out;
    torch::Tensor sigma_up;
    if (state.stage == 0) {
      const auto& x = state.model_x;
      auto [sigma_down, up] = ancestral_step(sigma, sigma_next, options_.eta);
      sigma_up = up;
      if (value_of(sigma_down) == 0) {
        out = x + to_d(x, sigma, denoised) * (sigma_down - sigma);
      } else {
        // DPM-Solver++(2S) in t = -log σ, midpoint r = 1/2.
        const auto t = neg_log(sigma);
        const auto t_next = neg_log(sigma_down);
        const auto h = t_next - t;
        const auto s = t + h * 0.5;
        state.memory["t"] = t;
        state.memory["t_next"] = t_next;
        state.memory["h"] = h;
        state.memory["sigma_up"] = sigma_up;
        state.stage = 1;
        state.model_x = (exp_neg(s) / exp_neg(t)) * x - (-h * 0.5).expm1() * denoised;
        state.model_sigma = exp_neg(s);
        return;
      }
    } else {
      const auto& t = remembered(state, "t");
      const auto& t_next = remembered(state, "t_next");
      const auto& h = remembered(state, "h");
      sigma_up = remembered(state, "sigma_up");
      out = (exp_neg(t_next) / exp_neg(t)) * state.x - (-h).expm1() * denoised;
    }
    if (value_of(sigma_next) > 0) {
      out = out + draw_noise(state, sigma, sigma_next, out) * options_.s_noise * sigma_up;
    }
    finish_step(state, out);
  }
};

/// sample_dpmpp_sde (k-diffusion form; noise from a Brownian tree). memory: t, t_next, s.
class DpmppSdeSampler final : public Sampler {
 public:
  explicit DpmppSdeSampler(SamplerOptions options) : Sampler(std::move(options)) {}
  std::string_view name() const override { return "dpmpp_sde"; }
  NoiseKind noise_kind() const override { return NoiseKind::BrownianTree; }
  int calls_at_step(const torch::Tensor& sigmas, std::int64_t i) const override {
    return sigmas[i + 1].item<float>() == 0 ? 1 : 2;
  }

 protected:
  void consume(SamplerState& state, const torch::Tensor& denoised) const override {
    const auto sigma = sigma_at(state, state.step);
    const auto sigma_next = sigma_at(state, state.step + 1);
    const double r = options_.sde_r;
    if (state.stage == 0) {
      const auto& x = state.model_x;
      if (value_of(sigma_next) == 0) {
        finish_step(state, x + to_d(x, sigma, denoised) * (sigma_next - sigma));
        return;
      }
      const auto t = neg_log(sigma);
      const auto t_next = neg_log(sigma_next);
      const auto h = t_next - t;
      const auto s = t + h * r;
      // Step 1: to the intermediate level s, with its share of the noise.
      const auto [sd, su] = ancestral_step(exp_neg(t), exp_neg(s), options_.eta);
      const auto s_ = neg_log(sd);
      auto x_2 = (exp_neg(s_) / exp_neg(t)) * x - (t - s_).expm1() * denoised;
      x_2 = x_2 + draw_noise(state, exp_neg(t), exp_neg(s), x) * options_.s_noise * su;
      state.memory["t"] = t;
      state.memory["t_next"] = t_next;
      state.memory["s"] = s;
      state.stage = 1;
      state.model_x = x_2;
      state.model_sigma = exp_neg(s);
      return;
    }
    // Step 2: the full step with the two evaluations combined.
    const auto& t = remembered(state, "t");
    const auto& t_next = remembered(state, "t_next");
    const double fac = 1.0 / (2.0 * r);
    const auto [sd, su] = ancestral_step(exp_neg(t), exp_neg(t_next), options_.eta);
    const auto t_next_ = neg_log(sd);
    const auto denoised_d = state.denoised * (1.0 - fac) + denoised * fac;
    auto out = (exp_neg(t_next_) / exp_neg(t)) * state.x - (t - t_next_).expm1() * denoised_d;
    out = out + draw_noise(state, exp_neg(t), exp_neg(t_next), out) * options_.s_noise * su;
    finish_step(state, out);
  }
};

// ---------------------------------------------------------------------------------------------
// UniPC, as ComfyUI runs it (comfy/extra_samplers/uni_pc.py, sample_unipc): the model is wrapped as
// a noise predictor in variance-preserving coordinates x_vp = x/√(σ²+1), solved for x0 ("predict_x0")
// with the B(h) UniPC update, multistep, lower order on the final steps.
//
// memory: timesteps (σ with a final 0 replaced by 0.001), x_vp (the corrected sample at the last
// completed step), x_pred (the predictor's output the pending call evaluates), order (of the
// pending update), max_order. history / history_sigmas: the data predictions and their σ.

/// SigmaConvert: log of the VP signal scale, α, σ_vp and the half-logSNR λ of a VE noise level.
torch::Tensor unipc_log_alpha(const torch::Tensor& sigma) {
  return at::log(at::reciprocal(sigma * sigma + 1)) * 0.5;
}
torch::Tensor unipc_alpha(const torch::Tensor& sigma) { return at::exp(unipc_log_alpha(sigma)); }
torch::Tensor unipc_std(const torch::Tensor& sigma) {
  return at::sqrt(1.0 - at::exp(unipc_log_alpha(sigma) * 2.0));
}
torch::Tensor unipc_lambda(const torch::Tensor& sigma) {
  const auto log_alpha = unipc_log_alpha(sigma);
  return log_alpha - at::log(1.0 - at::exp(log_alpha * 2.0)) * 0.5;
}

/// UniPC.multistep_uni_pc_bh_update with predict_x0. Without `x_t` it returns the predictor's
/// estimate at t; with `x_t` (that estimate) and `model_t` (the model evaluated there) it returns
/// the corrected sample.
torch::Tensor unipc_update(const torch::Tensor& x, const std::deque<torch::Tensor>& models,
                           const std::deque<torch::Tensor>& times, const torch::Tensor& t,
                           std::int64_t order, const torch::Tensor* x_t, const torch::Tensor* model_t,
                           bool bh2) {
  const auto& t_prev_0 = times.back();
  const auto lambda_prev_0 = unipc_lambda(t_prev_0);
  const auto lambda_t = unipc_lambda(t);
  const auto& model_prev_0 = models.back();
  const auto sigma_prev_0 = unipc_std(t_prev_0);
  const auto sigma_t = unipc_std(t);
  const auto alpha_t = at::exp(unipc_log_alpha(t));
  const auto h = lambda_t - lambda_prev_0;

  std::vector<torch::Tensor> rks;
  std::vector<torch::Tensor> d1s;
  const auto count = static_cast<std::int64_t>(models.size());
  for (std::int64_t i = 1; i < order; ++i) {
    const auto& t_prev_i = times[static_cast<std::size_t>(count - 1 - i)];
    const auto& model_prev_i = models[static_cast<std::size_t>(count - 1 - i)];
    const auto rk = (unipc_lambda(t_prev_i) - lambda_prev_0) / h;
    rks.push_back(rk);
    d1s.push_back((model_prev_i - model_prev_0) / rk);
  }
  rks.push_back(at::scalar_tensor(1.0, at::kFloat));
  const auto rks_t = at::stack(rks);

  const auto hh = -h;
  const auto h_phi_1 = at::expm1(hh);
  auto h_phi_k = h_phi_1 / hh - 1;
  std::int64_t factorial = 1;
  const auto b_h = bh2 ? at::expm1(hh) : hh;
  std::vector<torch::Tensor> r_rows;
  std::vector<torch::Tensor> b_values;
  for (std::int64_t i = 1; i <= order; ++i) {
    r_rows.push_back(at::pow(rks_t, i - 1));
    b_values.push_back(h_phi_k * factorial / b_h);
    factorial *= i + 1;
    h_phi_k = h_phi_k / hh - 1.0 / static_cast<double>(factorial);
  }
  const auto r_matrix = at::stack(r_rows);
  const auto b_vector = at::stack(b_values);

  // einsum('k,bkchw->bchw') over the stacked differences, for any sample rank.
  std::string letters = "cdefghij";
  const auto weighted = [&](const torch::Tensor& rhos, const torch::Tensor& stacked) {
    const auto rest = letters.substr(0, static_cast<std::size_t>(stacked.dim() - 2));
    return at::einsum("k,bk" + rest + "->b" + rest, {rhos, stacked});
  };
  torch::Tensor d1_stack;
  if (!d1s.empty()) d1_stack = at::stack(d1s, 1);

  const auto x_t_base = (sigma_t / sigma_prev_0) * x - (alpha_t * h_phi_1) * model_prev_0;
  if (x_t == nullptr) {
    if (d1s.empty()) return x_t_base;
    torch::Tensor rhos_p;
    if (order == 2) {
      rhos_p = at::full({1}, 0.5, at::kFloat);
    } else {
      rhos_p = at::linalg_solve(r_matrix.slice(0, 0, order - 1).slice(1, 0, order - 1),
                                b_vector.slice(0, 0, order - 1));
    }
    return x_t_base - (alpha_t * b_h) * weighted(rhos_p, d1_stack);
  }
  const auto rhos_c = order == 1 ? at::full({1}, 0.5, at::kFloat) : at::linalg_solve(r_matrix, b_vector);
  const auto d1_t = *model_t - model_prev_0;
  auto correction = rhos_c[order - 1] * d1_t;
  if (!d1s.empty()) correction = weighted(rhos_c.slice(0, 0, order - 1), d1_stack) + correction;
  return x_t_base - (alpha_t * b_h) * correction;
}

class UniPcSampler final : public Sampler {
 public:
  UniPcSampler(SamplerOptions options, bool bh2) : Sampler(std::move(options)), bh2_(bh2) {}
  std::string_view name() const override { return bh2_ ? "uni_pc_bh2" : "uni_pc"; }

 protected:
  void prepare(SamplerState& state) const override {
    auto timesteps = state.sigmas.clone();
    const auto n = timesteps.size(0);
    if (timesteps[n - 1].item<float>() == 0) timesteps[n - 1] = 0.001;
    const auto t0 = timesteps[0];
    const auto x_vp = state.x / at::sqrt(at::pow(t0, 2.0) + 1.0);
    state.memory["timesteps"] = timesteps;
    state.memory["x_pred"] = x_vp;
    state.memory["max_order"] = at::scalar_tensor(std::min<std::int64_t>(3, n - 2), at::kLong);
    state.model_x = to_model_input(x_vp, t0);
    state.model_sigma = t0;
  }

  void consume(SamplerState& state, const torch::Tensor& denoised) const override {
    const auto& timesteps = remembered(state, "timesteps");
    const auto s = state.step;
    const auto n = state.steps();
    const auto max_order = remembered(state, "max_order").item<std::int64_t>();
    const auto t_s = timesteps[s];
    const auto x_pred = remembered(state, "x_pred");
    // predict_eps_sigma + data_prediction_fn: ε from the denoiser, then x0 in VP coordinates.
    const auto eps = (state.model_x - denoised) / t_s;
    const auto model_out = (x_pred - unipc_std(t_s) * eps) / unipc_alpha(t_s);
    torch::Tensor x_vp;
    if (s == 0) {
      x_vp = x_pred;
      state.history.push_back(model_out);
      state.history_sigmas.push_back(t_s);
    } else {
      const auto order = remembered(state, "order").item<std::int64_t>();
      x_vp = unipc_update(remembered(state, "x_vp"), state.history, state.history_sigmas, t_s, order,
                          &x_pred, &model_out, bh2_);
      state.history.push_back(model_out);
      state.history_sigmas.push_back(t_s);
      if (static_cast<std::int64_t>(state.history.size()) > max_order) {
        state.history.pop_front();
        state.history_sigmas.pop_front();
      }
    }
    state.memory["x_vp"] = x_vp;
    const auto next = s + 1;
    if (next == n) {
      // The final update to timesteps[n], predictor only, order 1 (lower_order_final).
      const auto t_end = timesteps[n];
      const auto x_end = unipc_update(x_vp, state.history, state.history_sigmas, t_end, 1, nullptr,
                                      nullptr, bh2_);
      finish_step(state, x_end / unipc_alpha(t_end));
      return;
    }
    const auto order = next < max_order ? next : std::min<std::int64_t>(max_order, n + 1 - next);
    const auto t_next = timesteps[next];
    const auto predicted = unipc_update(x_vp, state.history, state.history_sigmas, t_next, order,
                                        nullptr, nullptr, bh2_);
    state.memory["x_pred"] = predicted;
    state.memory["order"] = at::scalar_tensor(order, at::kLong);
    // Report the corrected sample in the samplers' (VE) coordinates; the next call evaluates the
    // predictor's output.
    state.x = x_vp / unipc_alpha(t_s);
    state.step = next;
    state.stage = 0;
    state.model_x = to_model_input(predicted, t_next);
    state.model_sigma = t_next;
  }

 private:
  static torch::Tensor to_model_input(const torch::Tensor& x_vp, const torch::Tensor& sigma) {
    return x_vp * at::pow(at::pow(sigma, 2) + 1.0, 0.5);
  }

  bool bh2_;
};

}  // namespace

SamplingCancelled::SamplingCancelled(std::int64_t step)
    : std::runtime_error("sampling cancelled at step " + std::to_string(step)), step_(step) {}

int Sampler::calls_at_step(const torch::Tensor&, std::int64_t) const { return 1; }

std::vector<int> Sampler::calls_per_step(const torch::Tensor& sigmas) const {
  std::vector<int> calls;
  for (std::int64_t i = 0; i + 1 < sigmas.size(0); ++i) calls.push_back(calls_at_step(sigmas, i));
  return calls;
}

void Sampler::prepare(SamplerState& state) const {
  state.model_x = state.x;
  state.model_sigma = state.sigmas[0];
}

void Sampler::finish_step(SamplerState& state, torch::Tensor x) {
  state.x = std::move(x);
  state.step += 1;
  state.stage = 0;
  if (state.done()) {
    state.model_x = state.x;
    state.model_sigma = torch::Tensor();
  } else {
    state.model_x = state.x;
    state.model_sigma = state.sigmas[state.step];
  }
}

SamplerState Sampler::start(const torch::Tensor& x, const torch::Tensor& sigmas, NoiseSampler noise) const {
  if (!x.defined() || x.dim() < 1 || x.numel() == 0) {
    throw std::invalid_argument(std::string(name()) + ": the start sample is empty");
  }
  if (!sigmas.defined() || sigmas.dim() != 1 || sigmas.size(0) < 1) {
    throw std::invalid_argument(std::string(name()) + ": sigmas must be a 1-D tensor with at least one value");
  }
  if (noise_kind() != NoiseKind::None && !noise && sigmas.size(0) > 1) {
    throw std::invalid_argument(std::string(name()) +
                                " adds noise while sampling and needs a noise sampler (give a seed)");
  }
  SamplerState state;
  state.sigmas = sigmas.detach().to(at::kCPU, at::kFloat).contiguous();
  state.x = x;
  state.noise = std::move(noise);
  if (!state.done()) prepare(state);
  return state;
}

torch::Tensor Sampler::apply(SamplerState& state, std::int64_t i, const torch::Tensor& x,
                             const torch::Tensor& denoised) const {
  if (state.done()) {
    throw std::logic_error(std::string(name()) + ": apply called after the last step (" +
                           std::to_string(state.steps()) + " steps)");
  }
  if (i != state.step) {
    throw std::invalid_argument(std::string(name()) + ": step " + std::to_string(i) + " given, step " +
                                std::to_string(state.step) + " is pending");
  }
  if (!x.defined() || !denoised.defined() || denoised.sizes() != x.sizes() ||
      x.sizes() != state.model_x.sizes()) {
    throw std::invalid_argument(std::string(name()) + ": step " + std::to_string(i) +
                                ": the model input and denoised must both have the sample's shape");
  }
  at::NoGradGuard no_grad;
  state.model_x = x;
  if (state.stage == 0) state.denoised = denoised;
  ++state.model_calls;
  consume(state, denoised);
  return state.done() ? state.x : state.model_x;
}

void Sampler::step(SamplerState& state, std::int64_t i, const Denoiser& denoiser,
                   const SampleControl& control) const {
  if (state.done() || i != state.step) {
    throw std::invalid_argument(std::string(name()) + ": step " + std::to_string(i) +
                                " requested, step " + std::to_string(state.step) + " of " +
                                std::to_string(state.steps()) + " is pending");
  }
  at::NoGradGuard no_grad;
  const auto batch = state.model_x.size(0);
  while (!state.done() && state.step == i) {
    if (control.cancelled && control.cancelled()) throw SamplingCancelled(i);
    const bool first_call = state.stage == 0;
    const auto x_in = state.x;
    const auto sigma_in = state.model_sigma.reshape({1}).repeat({batch});
    auto denoised = denoiser(state.model_x, sigma_in);
    if (!denoised.defined() || denoised.sizes() != state.model_x.sizes()) {
      throw std::invalid_argument(std::string(name()) + ": step " + std::to_string(i) +
                                  ": the denoiser returned a tensor of another shape than its input");
    }
    apply(state, i, state.model_x, denoised);
    if (first_call && control.callback) {
      StepInfo info{i, state.steps(), state.sigmas[i], x_in, denoised};
      if (!control.callback(info)) throw SamplingCancelled(i);
    }
  }
}

torch::Tensor Sampler::sample(const Denoiser& denoiser, const torch::Tensor& x, const torch::Tensor& sigmas,
                              const SampleControl& control) const {
  at::NoGradGuard no_grad;
  auto state = start(x, sigmas, control.noise);
  for (std::int64_t i = 0; i < state.steps(); ++i) step(state, i, denoiser, control);
  return state.x;
}

std::vector<std::string> sampler_names() {
  return {"euler", "euler_ancestral", "heun",   "dpm_2",        "dpm_2_ancestral",
          "lms",   "dpmpp_2s_ancestral", "dpmpp_sde", "dpmpp_2m", "dpmpp_2m_sde",
          "ddpm",  "lcm",             "ddim",   "uni_pc",       "uni_pc_bh2"};
}

std::unique_ptr<Sampler> make_sampler(std::string_view name, const SamplerOptions& options) {
  if (options.lms_order < 1) throw std::invalid_argument("sampler option lms_order must be at least 1");
  if (!(options.eta >= 0.0)) throw std::invalid_argument("sampler option eta must be >= 0");
  if (!(options.sde_r > 0.0 && options.sde_r <= 1.0)) {
    throw std::invalid_argument("sampler option sde_r must be in (0, 1]");
  }
  if (options.solver_type != "midpoint" && options.solver_type != "heun") {
    throw std::invalid_argument("sampler option solver_type must be 'midpoint' or 'heun', got '" +
                                options.solver_type + "'");
  }
  if (name == "euler") return std::make_unique<EulerSampler>(options, false);
  if (name == "ddim") return std::make_unique<EulerSampler>(options, true);
  if (name == "euler_ancestral") return std::make_unique<EulerAncestralSampler>(options);
  if (name == "heun") return std::make_unique<HeunSampler>(options);
  if (name == "dpm_2") return std::make_unique<Dpm2Sampler>(options);
  if (name == "dpm_2_ancestral") return std::make_unique<Dpm2AncestralSampler>(options);
  if (name == "lms") return std::make_unique<LmsSampler>(options);
  if (name == "dpmpp_2s_ancestral") return std::make_unique<Dpmpp2sAncestralSampler>(options);
  if (name == "dpmpp_sde") return std::make_unique<DpmppSdeSampler>(options);
  if (name == "dpmpp_2m") return std::make_unique<Dpmpp2mSampler>(options);
  if (name == "dpmpp_2m_sde") return std::make_unique<Dpmpp2mSdeSampler>(options);
  if (name == "ddpm") return std::make_unique<DdpmSampler>(options);
  if (name == "lcm") return std::make_unique<LcmSampler>(options);
  if (name == "uni_pc") return std::make_unique<UniPcSampler>(options, false);
  if (name == "uni_pc_bh2") return std::make_unique<UniPcSampler>(options, true);
  throw std::invalid_argument("unknown sampler '" + std::string(name) +
                              "'; valid samplers: " + join_names(sampler_names()));
}

NoiseSampler make_noise_sampler(const Sampler& sampler, std::uint64_t seed, const torch::Tensor& x,
                                const torch::Tensor& sigmas) {
  switch (sampler.noise_kind()) {
    case NoiseKind::None:
      return {};
    case NoiseKind::Sequence:
      return NoiseSequence(seed, x.sizes().vec()).sampler();
    case NoiseKind::BrownianTree: {
      const auto table = sigmas.detach().to(at::kCPU, at::kDouble);
      const auto positive = table.masked_select(table.gt(0));
      if (positive.numel() == 0 || table.max().item<double>() <= positive.min().item<double>()) {
        // No interval to walk (a single noise level): no noise is ever requested.
        return [](const torch::Tensor&, const torch::Tensor&) -> torch::Tensor {
          throw std::logic_error("no Brownian noise over an empty σ interval");
        };
      }
      return BrownianTreeNoise(seed, x.sizes().vec(), positive.min().item<double>(), table.max().item<double>())
          .sampler();
    }
  }
  return {};
}

std::vector<double> lms_coefficients(const std::vector<float>& sigmas, std::int64_t i, int order) {
  if (order < 1 || order - 1 > i || i + 1 >= static_cast<std::int64_t>(sigmas.size())) {
    throw std::invalid_argument("lms: order " + std::to_string(order) + " too high for step " + std::to_string(i));
  }
  const auto at_index = [&](std::int64_t k) { return sigmas[static_cast<std::size_t>(k)]; };
  // 4-point Gauss-Legendre is exact for polynomials of degree <= 7 (the integrand has degree <= 3).
  constexpr std::array<double, 4> nodes = {-0.8611363115940526, -0.3399810435848563, 0.3399810435848563,
                                           0.8611363115940526};
  constexpr std::array<double, 4> weights = {0.3478548451374538, 0.6521451548625461, 0.6521451548625461,
                                             0.3478548451374538};
  const double a = at_index(i);
  const double b = at_index(i + 1);
  const double half = 0.5 * (b - a);
  const double middle = 0.5 * (a + b);
  std::vector<double> coefficients;
  for (int j = 0; j < order; ++j) {
    double integral = 0.0;
    for (std::size_t q = 0; q < nodes.size(); ++q) {
      const double tau = middle + half * nodes[q];
      double product = 1.0;
      for (int k = 0; k < order; ++k) {
        if (k == j) continue;
        // numpy: tau (float64) - t[i-k] (float32 → float64); t[i-j] - t[i-k] stays float32.
        const float denominator = at_index(i - j) - at_index(i - k);
        product *= (tau - static_cast<double>(at_index(i - k))) / static_cast<double>(denominator);
      }
      integral += weights[q] * product;
    }
    coefficients.push_back(half * integral);
  }
  return coefficients;
}

}  // namespace diffgraph::sampling
