// sampling_tests.cpp — the sampling library without models or fixtures: schedules, schedulers,
// the Beta quantile, seeded noise, every sampler against analytic denoisers, the three ways of
// driving a sampler, guidance batching, KSampler plans, inpainting and CompVis DDIM.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "sampling/ddim.hpp"
#include "sampling/guidance.hpp"
#include "sampling/noise.hpp"
#include "sampling/noise_schedule.hpp"
#include "sampling/samplers.hpp"
#include "sampling/sampling_plan.hpp"
#include "sampling/schedulers.hpp"

namespace ds = diffgraph::sampling;

namespace {

constexpr double kPi = 3.14159265358979323846;

const ds::DiscreteSchedule& sd_schedule() {
  static const ds::DiscreteSchedule schedule;
  return schedule;
}

std::vector<float> values(const torch::Tensor& t) {
  const auto c = t.to(at::kFloat).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

/// A smooth, nonlinear stand-in for a guided U-Net, so trajectories depend on every detail.
torch::Tensor analytic_denoised(const torch::Tensor& x, const torch::Tensor& sigma) {
  const auto s = ds::append_dims(sigma.to(at::kFloat), x.dim());
  return at::tanh(x * 0.3) * 0.8 + x * 0.05 / (s + 1.0) + 0.1;
}

ds::NoiseSampler seeded_noise(const ds::Sampler& sampler, const torch::Tensor& x, const torch::Tensor& sigmas,
                              std::uint64_t seed = 1234) {
  return ds::make_noise_sampler(sampler, seed, x, sigmas);
}

torch::Tensor start_sample(std::uint64_t seed, const torch::Tensor& sigmas, std::vector<std::int64_t> shape = {2, 4, 8, 8}) {
  return ds::noised_start({}, ds::initial_noise(seed, shape), sigmas);
}

}  // namespace

// --- noise schedule ------------------------------------------------------------------------------

TEST(NoiseSchedule, StableDiffusionTable) {
  const auto& s = sd_schedule();
  ASSERT_EQ(s.size(), 1000);
  EXPECT_EQ(s.betas().scalar_type(), at::kDouble);
  EXPECT_EQ(s.alphas_cumprod().scalar_type(), at::kFloat);
  EXPECT_NEAR(s.sigma_min().item<float>(), 0.0291675, 1e-6);
  EXPECT_NEAR(s.sigma_max().item<float>(), 14.614642, 1e-5);
  EXPECT_TRUE(s.sigmas().slice(0, 1).gt(s.sigmas().slice(0, 0, 999)).all().item<bool>());
  EXPECT_NEAR(s.betas()[0].item<double>(), 0.00085, 1e-15);
  EXPECT_NEAR(s.betas()[999].item<double>(), 0.012, 1e-15);
}

TEST(NoiseSchedule, LinearBetas) {
  ds::ScheduleConfig config;
  config.beta_schedule = ds::BetaSchedule::Linear;
  config.linear_start = 0.0001;
  config.linear_end = 0.02;
  const ds::DiscreteSchedule s(config);
  EXPECT_NEAR(s.betas()[500].item<double>(), 0.0001 + 500 * (0.02 - 0.0001) / 999, 1e-15);
  EXPECT_EQ(ds::beta_schedule_from_name("linear"), ds::BetaSchedule::Linear);
  EXPECT_EQ(ds::beta_schedule_from_name("scaled_linear"), ds::BetaSchedule::ScaledLinear);
  EXPECT_EQ(ds::beta_schedule_from_compvis_name("linear"), ds::BetaSchedule::ScaledLinear);
  EXPECT_THROW(ds::beta_schedule_from_name("cosine"), std::invalid_argument);
}

TEST(NoiseSchedule, FromAlphasCumprodEqualsComputed) {
  const auto& s = sd_schedule();
  const auto copy = ds::DiscreteSchedule::from_alphas_cumprod(s.alphas_cumprod());
  EXPECT_TRUE(at::equal(copy.sigmas(), s.sigmas()));
  EXPECT_FALSE(copy.betas().defined());
  EXPECT_THROW(ds::DiscreteSchedule::from_alphas_cumprod(at::zeros({10})), std::invalid_argument);
}

TEST(NoiseSchedule, SigmaToTAndBack) {
  const auto& s = sd_schedule();
  const auto idx = at::tensor({0L, 1L, 261L, 500L, 998L, 999L});
  const auto sigmas = s.sigmas().index({idx});
  EXPECT_TRUE(at::equal(s.sigma_to_t(sigmas, true), idx));
  const auto t = s.sigma_to_t(sigmas, false);
  EXPECT_LE(max_abs_diff(t, idx.to(at::kFloat)), 1e-3);
  // Fractional timesteps round-trip through the log-linear interpolation.
  const auto frac = at::tensor({0.25f, 12.5f, 500.5f, 998.75f});
  EXPECT_LE(max_abs_diff(s.sigma_to_t(s.t_to_sigma(frac), false), frac), 2e-3);
  // Out-of-range σ clamps to the ends.
  EXPECT_EQ(s.sigma_to_t(at::tensor({100.0f}), true).item<std::int64_t>(), 999);
  EXPECT_NEAR(s.sigma_to_t(at::tensor({1e-4f}), false).item<float>(), 0.0f, 1e-6);
}

TEST(NoiseSchedule, DenoisedFormulas) {
  const auto x = at::randn({2, 4, 3, 3});
  const auto out = at::randn({2, 4, 3, 3});
  const auto sigma = at::tensor({0.5f, 3.0f});
  const auto eps = ds::denoised_from_output(ds::Prediction::Epsilon, x, sigma, out);
  EXPECT_LE(max_abs_diff(eps, x - out * ds::append_dims(sigma, 4)), 1e-6);
  // v: x0 = c_skip·x + c_out·v = x/(σ²+1) - σ·v/√(σ²+1).
  const auto v = ds::denoised_from_output(ds::Prediction::V, x, sigma, out);
  const auto s = ds::append_dims(sigma, 4).to(at::kDouble);
  const auto expected = x.to(at::kDouble) / (s * s + 1) - s * out.to(at::kDouble) / at::sqrt(s * s + 1);
  EXPECT_LE(max_abs_diff(v, expected), 1e-5);
  EXPECT_NEAR(ds::c_in(at::tensor({2.0f})).item<float>(), 1.0 / std::sqrt(5.0), 1e-7);
  EXPECT_EQ(ds::prediction_from_name("v_prediction"), ds::Prediction::V);
  EXPECT_THROW(ds::prediction_from_name("x0"), std::invalid_argument);
}

// --- schedulers ------------------------------------------------------------------------------------

TEST(Schedulers, EveryNameIsDecreasingAndEndsAtZero) {
  const auto& s = sd_schedule();
  const auto names = ds::scheduler_names();
  ASSERT_EQ(names.size(), 7u);
  for (const auto& name : names) {
    for (std::int64_t steps : {1, 2, 3, 5, 7, 8, 10, 20, 33, 50, 100}) {
      SCOPED_TRACE(name + " steps " + std::to_string(steps));
      const auto sigmas = ds::compute_sigmas(s, name, steps);
      ASSERT_EQ(sigmas.dim(), 1);
      EXPECT_EQ(sigmas.scalar_type(), at::kFloat);
      const auto v = values(sigmas);
      ASSERT_GE(v.size(), 2u);
      EXPECT_EQ(v.back(), 0.0f);
      EXPECT_LE(v.front(), s.sigma_max().item<float>() * (1 + 1e-6));
      for (std::size_t k = 0; k + 1 < v.size(); ++k) EXPECT_GT(v[k], v[k + 1]) << "at " << k;
      if (name == "ddim_uniform") {
        // ComfyUI: every 1000//steps-th table entry from 1 — more than steps when it does not divide.
        const auto stride = 1000 / steps;
        EXPECT_EQ(static_cast<std::int64_t>(v.size()), (999 + stride - 1) / stride + 1);
      } else if (name == "beta") {
        EXPECT_LE(static_cast<std::int64_t>(v.size()), steps + 1);
      } else {
        EXPECT_EQ(static_cast<std::int64_t>(v.size()), steps + 1);
      }
    }
  }
}

TEST(Schedulers, KnownValues) {
  const auto& s = sd_schedule();
  const auto smax = s.sigma_max().item<float>();
  const auto smin = s.sigma_min().item<float>();
  const auto karras = values(ds::compute_sigmas(s, "karras", 8));
  EXPECT_NEAR(karras.front(), smax, 2e-5);
  EXPECT_NEAR(karras[7], smin, 1e-6 * smin);
  // t = 999 and 0 exactly; σ comes back through exp(log σ).
  const auto normal = values(ds::compute_sigmas(s, "normal", 8));
  EXPECT_NEAR(normal.front(), smax, 2e-6 * smax);
  EXPECT_NEAR(normal[7], smin, 2e-6 * smin);
  const auto simple = values(ds::compute_sigmas(s, "simple", 4));
  const auto table = values(s.sigmas());
  EXPECT_EQ(simple, (std::vector<float>{table[999], table[749], table[499], table[249], 0.0f}));
  const auto ddim = values(ds::compute_sigmas(s, "ddim_uniform", 4));
  EXPECT_EQ(ddim, (std::vector<float>{table[751], table[501], table[251], table[1], 0.0f}));
  const auto sgm = values(ds::compute_sigmas(s, "sgm_uniform", 4));
  EXPECT_EQ(sgm.front(), normal.front());
  EXPECT_NEAR(sgm[2], values(s.t_to_sigma(at::tensor({499.5f})))[0], 1e-6);
  // beta, 4 steps: quantiles of p = 1, 0.75, 0.5, 0.25; p = 0.5 → 0.5·999 = 499.5 rounds half to even.
  const auto beta = values(ds::compute_sigmas(s, "beta", 4));
  ASSERT_EQ(beta.size(), 5u);
  EXPECT_EQ(beta[0], table[999]);
  EXPECT_EQ(beta[2], table[500]);
  const auto t1 = static_cast<std::size_t>(std::nearbyint(ds::beta_ppf(0.75, 0.6, 0.6) * 999));
  EXPECT_EQ(beta[1], table[t1]);
  EXPECT_EQ(beta[3], table[999 - t1]);
}

TEST(Schedulers, UnknownNameListsTheValidOnes) {
  try {
    ds::compute_sigmas(sd_schedule(), "cosine_wave", 8);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("cosine_wave"), std::string::npos);
    EXPECT_NE(message.find("karras"), std::string::npos);
    EXPECT_NE(message.find("ddim_uniform"), std::string::npos);
  }
  EXPECT_THROW(ds::compute_sigmas(sd_schedule(), "karras", 0), std::invalid_argument);
}

TEST(BetaDistribution, QuantilesMatchClosedForms) {
  for (double p : {1e-6, 0.01, 0.1, 0.25, 0.5, 0.7, 0.9, 0.999}) {
    SCOPED_TRACE(p);
    EXPECT_NEAR(ds::beta_ppf(p, 1.0, 1.0), p, 1e-14);                                  // uniform
    EXPECT_NEAR(ds::beta_ppf(p, 2.0, 1.0), std::sqrt(p), 1e-13);                       // CDF x²
    const double arcsine = std::pow(std::sin(kPi * p / 2), 2);                         // Beta(½,½)
    EXPECT_NEAR(ds::beta_ppf(p, 0.5, 0.5), arcsine, 1e-13);
    const double q = ds::beta_ppf(p, 0.6, 0.6);
    EXPECT_NEAR(ds::regularized_incomplete_beta(q, 0.6, 0.6), p, 1e-14);
    EXPECT_NEAR(ds::beta_ppf(1 - p, 0.6, 0.6), 1 - q, 1e-13);                          // symmetry
  }
  // The median of a symmetric Beta is its inflection point, returned as computed, (1-a)/(2-a-b),
  // like Boost's ibeta_inv (0.5 up to an ulp); the beta scheduler then rounds 499.5 up to 500.
  EXPECT_NEAR(ds::beta_ppf(0.5, 0.6, 0.6), 0.5, 1e-15);
  EXPECT_EQ(ds::beta_ppf(0.0, 0.6, 0.6), 0.0);
  EXPECT_EQ(ds::beta_ppf(1.0, 0.6, 0.6), 1.0);
  EXPECT_THROW(ds::beta_ppf(1.5, 0.6, 0.6), std::invalid_argument);
}

// --- noise ---------------------------------------------------------------------------------------------

TEST(Noise, SeedConventions) {
  EXPECT_EQ(ds::parse_seed("42"), 42u);
  EXPECT_EQ(ds::parse_seed("-1"), 18446744073709551615ull);
  EXPECT_EQ(ds::parse_seed("-9223372036854775808"), 9223372036854775808ull);
  EXPECT_EQ(ds::parse_seed("18446744073709551615"), 18446744073709551615ull);
  EXPECT_EQ(ds::parse_seed("9223372036854775807"), 9223372036854775807ull);
  EXPECT_EQ(ds::seed_from_int64(-5), ds::parse_seed("-5"));
  EXPECT_THROW(ds::parse_seed("18446744073709551616"), std::invalid_argument);
  EXPECT_THROW(ds::parse_seed("-9223372036854775809"), std::invalid_argument);
  EXPECT_THROW(ds::parse_seed("12a"), std::invalid_argument);
  EXPECT_THROW(ds::parse_seed(""), std::invalid_argument);
  // Only the low 32 bits reach mt19937.
  EXPECT_TRUE(at::equal(ds::initial_noise(4294967303ull, {1, 4, 8, 8}), ds::initial_noise(7, {1, 4, 8, 8})));
  // One draw of the batch: the first row is the single-row noise of the same seed.
  EXPECT_TRUE(at::equal(ds::initial_noise(9, {2, 4, 8, 8})[0], ds::initial_noise(9, {1, 4, 8, 8})[0]));
  EXPECT_FALSE(at::equal(ds::initial_noise(9, {1, 4, 8, 8}), ds::initial_noise(10, {1, 4, 8, 8})));
  EXPECT_EQ(ds::initial_noise(1, {1, 4, 8, 8}).scalar_type(), at::kFloat);
}

TEST(Noise, SequenceIsOneGeneratorDrawnPerStep) {
  ds::NoiseSequence sequence(42, {1, 4, 8, 8});
  auto generator = ds::make_cpu_generator(42);
  for (int k = 0; k < 3; ++k) {
    const auto expected = at::randn({1, 4, 8, 8}, generator, at::TensorOptions().dtype(at::kFloat));
    EXPECT_TRUE(at::equal(sequence.next(), expected)) << "draw " << k;
  }
  EXPECT_EQ(sequence.draws(), 3);
  // 256 values per draw (a multiple of 16): the draws continue one stacked draw (fixtures §9).
  ds::NoiseSequence again(42, {1, 4, 8, 8});
  const auto first = again.sampler()(at::scalar_tensor(1.0), at::scalar_tensor(0.5));
  const auto second = again.next();
  EXPECT_TRUE(at::equal(at::stack({first, second}), ds::initial_noise(42, {2, 1, 4, 8, 8})));
}

TEST(Noise, BrownianTreeIsAReproducibleBrownianPath) {
  const std::vector<std::int64_t> shape{1, 4, 32, 32};
  const ds::BrownianTreeNoise tree(7, shape, 0.03, 14.6);
  const ds::BrownianTreeNoise same(7, shape, 0.03, 14.6);
  EXPECT_TRUE(at::equal(tree.value(0.03), at::zeros(shape)));
  // Order of queries does not matter.
  const auto late = same.value(5.0);
  EXPECT_TRUE(at::equal(tree.value(5.0), late));
  EXPECT_TRUE(at::equal(tree.value(1.25), same.value(1.25)));
  // Normalised increments over disjoint intervals are standard normal and nearly uncorrelated.
  const auto a = tree(at::scalar_tensor(14.6), at::scalar_tensor(6.0));
  const auto b = tree(at::scalar_tensor(6.0), at::scalar_tensor(0.5));
  EXPECT_NEAR(a.std().item<double>(), 1.0, 0.05);
  EXPECT_NEAR(b.std().item<double>(), 1.0, 0.05);
  EXPECT_NEAR(a.mean().item<double>(), 0.0, 0.06);
  EXPECT_LT(std::fabs((a * b).mean().item<double>()), 0.06);
  // Increments add up along the path.
  const auto whole = tree.value(0.5) - tree.value(14.6);
  const auto parts = (tree.value(6.0) - tree.value(14.6)) + (tree.value(0.5) - tree.value(6.0));
  EXPECT_LE(max_abs_diff(whole, parts), 1e-5);
  const ds::BrownianTreeNoise other(8, shape, 0.03, 14.6);
  EXPECT_FALSE(at::equal(other.value(5.0), late));
}

// --- samplers ------------------------------------------------------------------------------------------

TEST(Samplers, NamesAndUnknownName) {
  const auto names = ds::sampler_names();
  EXPECT_EQ(names.size(), 15u);
  std::set<std::string> unique(names.begin(), names.end());
  EXPECT_EQ(unique.size(), names.size());
  for (const auto& name : names) EXPECT_EQ(ds::make_sampler(name)->name(), name);
  try {
    ds::make_sampler("euler_b");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'euler_b'"), std::string::npos);
    EXPECT_NE(message.find("dpmpp_2m_sde"), std::string::npos);
    EXPECT_NE(message.find("uni_pc"), std::string::npos);
  }
  ds::SamplerOptions bad;
  bad.solver_type = "rk4";
  EXPECT_THROW(ds::make_sampler("dpmpp_2m_sde", bad), std::invalid_argument);
}

TEST(Samplers, ExactDenoiserOfAPointMassLandsOnThePoint) {
  const auto sigmas = ds::compute_sigmas(sd_schedule(), "karras", 10);
  const auto point = at::linspace(-1.5, 2.0, 2 * 4 * 8 * 8).reshape({2, 4, 8, 8});
  const ds::Denoiser denoiser = [&](const torch::Tensor& x, const torch::Tensor&) {
    return point.expand_as(x).clone();
  };
  for (const auto& name : ds::sampler_names()) {
    SCOPED_TRACE(name);
    const auto sampler = ds::make_sampler(name);
    const auto x = start_sample(5, sigmas);
    ds::SampleControl control;
    control.noise = seeded_noise(*sampler, x, sigmas);
    const auto out = sampler->sample(denoiser, x, sigmas, control);
    // UniPC stops at σ = 0.001 instead of 0 (ComfyUI), leaving ~1e-3 of the initial noise.
    const double atol = name.rfind("uni_pc", 0) == 0 ? 2e-2 : 1e-4;
    EXPECT_LE(max_abs_diff(out, point), atol);
  }
}

TEST(Samplers, DeterministicSamplersSolveTheGaussianOdeToTheirOrder) {
  // Data ~ N(0, s²): the exact denoiser is x·s²/(s²+σ²) and the probability-flow ODE solution is
  // x(σ) = x(σ0)·√(s²+σ²)/√(s²+σ0²). Ending at σ_min (no jump to 0) isolates each method's order:
  // doubling the steps divides the error by ~2 (Euler), ~4 (second order) or more.
  const double s = 0.5;
  const ds::Denoiser gaussian = [&](const torch::Tensor& x, const torch::Tensor& sigma) {
    const auto sg = ds::append_dims(sigma.to(at::kDouble), x.dim());
    return (x.to(at::kDouble) * (s * s) / (sg * sg + s * s)).to(at::kFloat);
  };
  const auto relative_error = [&](const ds::Sampler& sampler, std::int64_t steps) {
    const auto sigmas = ds::compute_sigmas(sd_schedule(), "karras", steps + 1).slice(0, 0, steps + 1);
    const auto x = ds::noised_start({}, ds::initial_noise(3, {1, 4, 16, 16}), sigmas);
    ds::SampleControl control;
    control.noise = seeded_noise(sampler, x, sigmas);
    const auto out = sampler.sample(gaussian, x, sigmas, control).to(at::kDouble);
    const double first = sigmas[0].item<double>();
    const double last = sigmas[steps].item<double>();
    const auto exact = x.to(at::kDouble) * std::sqrt(s * s + last * last) / std::sqrt(s * s + first * first);
    return (out - exact).abs().max().item<double>() / exact.abs().max().item<double>();
  };
  const std::map<std::string, double> min_ratio{
      {"euler", 1.8},         {"ddim", 1.8},          {"euler_ancestral", 1.8}, {"heun", 3.5},
      {"dpm_2", 3.5},         {"dpm_2_ancestral", 3.5}, {"dpmpp_2s_ancestral", 3.5}, {"dpmpp_sde", 3.5},
      {"dpmpp_2m", 3.5},      {"dpmpp_2m_sde", 3.5},  {"lms", 8.0},             {"uni_pc", 4.5},
      {"uni_pc_bh2", 4.5}};
  ds::SamplerOptions deterministic;
  deterministic.eta = 0.0;
  for (const auto& [name, ratio] : min_ratio) {
    SCOPED_TRACE(name);
    const auto sampler = ds::make_sampler(name, deterministic);
    const double coarse = relative_error(*sampler, 40);
    const double fine = relative_error(*sampler, 80);
    EXPECT_LT(coarse, 0.05);
    EXPECT_GE(coarse / fine, ratio) << "errors " << coarse << " → " << fine;
  }
  // Without noise the ancestral/SDE variants are their deterministic counterparts.
  const auto same = [&](const char* a, const char* b) {
    EXPECT_NEAR(relative_error(*ds::make_sampler(a, deterministic), 12),
                relative_error(*ds::make_sampler(b, deterministic), 12), 1e-6)
        << a << " vs " << b;
  };
  same("dpm_2_ancestral", "dpm_2");
  same("dpmpp_sde", "dpmpp_2s_ancestral");
  same("dpmpp_2m_sde", "dpmpp_2m");
  same("euler_ancestral", "euler");
}

TEST(Samplers, FirstEulerStepByHand) {
  const auto sigmas = at::tensor({4.0f, 1.0f, 0.0f});
  const auto x = at::full({1, 4, 2, 2}, 2.0f);
  const auto sampler = ds::make_sampler("euler");
  auto state = sampler->start(x, sigmas);
  // D = 0 → d = x/σ, x' = x + d·(σ' - σ) = x·σ'/σ.
  const auto next = sampler->apply(state, 0, x, at::zeros_like(x));
  EXPECT_TRUE(at::allclose(next, at::full({1, 4, 2, 2}, 0.5f)));
  EXPECT_EQ(state.step, 1);
  EXPECT_EQ(state.model_sigma.item<float>(), 1.0f);
}

TEST(Samplers, StepFormLoopAndSplitFormAgreeBitwise) {
  const auto sigmas = ds::compute_sigmas(sd_schedule(), "karras", 7);
  const ds::Denoiser denoiser = analytic_denoised;
  for (const auto& name : ds::sampler_names()) {
    SCOPED_TRACE(name);
    const auto sampler = ds::make_sampler(name);
    const auto x = start_sample(11, sigmas);

    ds::SampleControl control;
    control.noise = seeded_noise(*sampler, x, sigmas);
    const auto looped = sampler->sample(denoiser, x, sigmas, control);

    auto stepped_state = sampler->start(x, sigmas, seeded_noise(*sampler, x, sigmas));
    for (std::int64_t i = 0; i < stepped_state.steps(); ++i) sampler->step(stepped_state, i, denoiser);

    auto split = sampler->start(x, sigmas, seeded_noise(*sampler, x, sigmas));
    const auto calls = sampler->calls_per_step(sigmas);
    torch::Tensor current = split.model_x;
    std::int64_t total_calls = 0;
    for (std::int64_t i = 0; i < split.steps(); ++i) {
      for (int call = 0; call < calls[static_cast<std::size_t>(i)]; ++call) {
        ASSERT_EQ(split.step, i);
        const auto sigma = split.model_sigma.reshape({1}).repeat({current.size(0)});
        current = sampler->apply(split, i, current, denoiser(current, sigma));
        ++total_calls;
      }
      EXPECT_EQ(split.step, i + 1) << "calls_at_step(" << i << ") was wrong";
    }
    ASSERT_TRUE(split.done());
    EXPECT_EQ(split.model_calls, total_calls);
    EXPECT_EQ(stepped_state.model_calls, total_calls);
    EXPECT_TRUE(at::equal(looped, stepped_state.x));
    EXPECT_TRUE(at::equal(looped, current));
    EXPECT_TRUE(at::equal(looped, split.x));
    EXPECT_TRUE(at::isfinite(looped).all().item<bool>());
  }
}

TEST(Samplers, CallsPerStep) {
  const auto sigmas = ds::compute_sigmas(sd_schedule(), "karras", 8);
  const std::vector<int> two_then_one{2, 2, 2, 2, 2, 2, 2, 1};
  for (const char* name : {"heun", "dpm_2", "dpm_2_ancestral", "dpmpp_2s_ancestral", "dpmpp_sde"}) {
    EXPECT_EQ(ds::make_sampler(name)->calls_per_step(sigmas), two_then_one) << name;
  }
  for (const char* name : {"euler", "euler_ancestral", "lms", "dpmpp_2m", "dpmpp_2m_sde", "ddim", "ddpm", "lcm", "uni_pc"}) {
    EXPECT_EQ(ds::make_sampler(name)->calls_per_step(sigmas), std::vector<int>(8, 1)) << name;
  }
}

TEST(Samplers, SameSeedIsBitwiseReproducible) {
  const auto sigmas = ds::compute_sigmas(sd_schedule(), "karras", 6);
  for (const char* name : {"euler_ancestral", "dpmpp_sde", "dpmpp_2m_sde", "ddpm", "lcm", "dpmpp_2s_ancestral"}) {
    SCOPED_TRACE(name);
    const auto sampler = ds::make_sampler(name);
    const auto run = [&](std::uint64_t seed) {
      ds::KSamplerRun request;
      request.noise = ds::initial_noise(seed, {1, 4, 8, 8});
      request.sigmas = sigmas;
      request.seed = seed;
      return ds::ksample(*sampler, analytic_denoised, request);
    };
    const auto first = run(77);
    EXPECT_TRUE(at::equal(first, run(77)));
    EXPECT_FALSE(at::equal(first, run(78)));
  }
}

TEST(Samplers, NoisySamplersNeedNoise) {
  const auto sigmas = ds::compute_sigmas(sd_schedule(), "normal", 4);
  const auto x = start_sample(1, sigmas, {1, 4, 4, 4});
  EXPECT_THROW(ds::make_sampler("euler_ancestral")->start(x, sigmas), std::invalid_argument);
  EXPECT_NO_THROW(ds::make_sampler("euler")->start(x, sigmas));
  ds::KSamplerRun request;
  request.noise = ds::initial_noise(1, {1, 4, 4, 4});
  request.sigmas = sigmas;
  EXPECT_THROW(ds::ksample(*ds::make_sampler("dpmpp_sde"), analytic_denoised, request), std::invalid_argument);
}

TEST(Samplers, ApplyChecksItsStep) {
  const auto sigmas = ds::compute_sigmas(sd_schedule(), "karras", 2);
  const auto sampler = ds::make_sampler("euler");
  const auto x = start_sample(1, sigmas, {1, 4, 4, 4});
  auto state = sampler->start(x, sigmas);
  EXPECT_THROW(sampler->apply(state, 1, x, x), std::invalid_argument);
  EXPECT_THROW(sampler->apply(state, 0, x, at::zeros({1, 4, 2, 2})), std::invalid_argument);
  auto next = sampler->apply(state, 0, x, at::zeros_like(x));
  next = sampler->apply(state, 1, next, at::zeros_like(x));
  EXPECT_TRUE(state.done());
  EXPECT_THROW(sampler->apply(state, 2, next, next), std::logic_error);
}

TEST(Samplers, CallbackAndCancellation) {
  const auto sigmas = ds::compute_sigmas(sd_schedule(), "karras", 6);
  const auto x = start_sample(3, sigmas, {1, 4, 4, 4});
  const auto sampler = ds::make_sampler("heun");
  std::vector<std::int64_t> seen;
  ds::SampleControl control;
  control.callback = [&](const ds::StepInfo& info) {
    EXPECT_EQ(info.steps, 6);
    EXPECT_EQ(info.sigma.item<float>(), sigmas[info.step].item<float>());
    EXPECT_TRUE(info.denoised.defined());
    seen.push_back(info.step);
    return true;
  };
  sampler->sample(analytic_denoised, x, sigmas, control);
  EXPECT_EQ(seen, (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5}));

  control.callback = [](const ds::StepInfo& info) { return info.step < 2; };
  try {
    sampler->sample(analytic_denoised, x, sigmas, control);
    FAIL() << "not cancelled";
  } catch (const ds::SamplingCancelled& e) {
    EXPECT_EQ(e.step(), 2);
  }

  int calls = 0;
  control.callback = {};
  control.cancelled = [&] { return ++calls > 3; };  // heun: 2 calls per step → stops in step 1
  try {
    sampler->sample(analytic_denoised, x, sigmas, control);
    FAIL() << "not cancelled";
  } catch (const ds::SamplingCancelled& e) {
    EXPECT_EQ(e.step(), 1);
  }
}

TEST(Samplers, LmsCoefficients) {
  const auto sigmas = values(ds::compute_sigmas(sd_schedule(), "karras", 8));
  for (std::int64_t i = 0; i < 8; ++i) {
    const int order = static_cast<int>(std::min<std::int64_t>(i + 1, 4));
    const auto c = ds::lms_coefficients(sigmas, i, order);
    ASSERT_EQ(static_cast<int>(c.size()), order);
    double sum = 0;
    for (double v : c) sum += v;
    // The Lagrange basis sums to 1, so the coefficients sum to the step length.
    const double step = static_cast<double>(sigmas[i + 1]) - sigmas[i];
    EXPECT_NEAR(sum, step, 1e-6 * std::fabs(step)) << "step " << i;
  }
  EXPECT_NEAR(ds::lms_coefficients(sigmas, 0, 1)[0], static_cast<double>(sigmas[1]) - sigmas[0], 1e-12);
  EXPECT_THROW(ds::lms_coefficients(sigmas, 1, 3), std::invalid_argument);
}

// --- guidance --------------------------------------------------------------------------------------------

namespace {

struct RecordedCall {
  torch::Tensor x, t, context, y;
};

/// A fake network whose output depends on x, t, the mean of the context's first feature and,
/// when given, the sum of the y vector.
ds::NoiseModel recording_model(std::vector<RecordedCall>& calls) {
  return [&calls](const torch::Tensor& x, const torch::Tensor& t, const diffgraph::models::ModelInputs& inputs) {
    calls.push_back({x, t, inputs.context, inputs.y});
    const auto c = inputs.context.select(2, 0).mean(1);
    auto out = x * 0.5 + ds::append_dims(c, x.dim()) + ds::append_dims(t.to(at::kFloat) * 0.001f, x.dim());
    if (inputs.y.defined()) out = out + ds::append_dims(inputs.y.sum(1), x.dim());
    return out;
  };
}

}  // namespace

TEST(Guidance, CfgBlend) {
  const auto cond = at::full({2}, 3.0f);
  const auto uncond = at::full({2}, 1.0f);
  EXPECT_TRUE(at::equal(ds::cfg_blend(cond, uncond, 7.5), at::full({2}, 16.0f)));
  EXPECT_TRUE(at::equal(ds::cfg_blend(cond, uncond, 1.0), cond));
}

TEST(Guidance, CondAndUncondShareOneBatchedCall) {
  std::vector<RecordedCall> calls;
  ds::GuidanceConfig config;
  config.cond.context = at::randn({1, 77, 8});
  config.uncond.context = at::randn({1, 77, 8});
  config.scale = 5.0;
  const auto denoiser = ds::make_cfg_denoiser(recording_model(calls), sd_schedule(), config);
  const auto x = at::randn({2, 4, 4, 4});
  const auto sigma = at::tensor({3.0f, 3.0f});
  const auto out = denoiser(x, sigma);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].x.size(0), 4);
  EXPECT_EQ(calls[0].t.scalar_type(), at::kLong);
  // Uncond first, each repeated to the batch of 2.
  EXPECT_TRUE(at::equal(calls[0].context[0], config.uncond.context[0]));
  EXPECT_TRUE(at::equal(calls[0].context[1], config.uncond.context[0]));
  EXPECT_TRUE(at::equal(calls[0].context[2], config.cond.context[0]));
  // The same numbers as two separate denoiser evaluations blended by hand.
  const auto model = recording_model(calls);
  diffgraph::models::ModelInputs uncond_inputs, cond_inputs;
  uncond_inputs.context = config.uncond.context.repeat({2, 1, 1});
  cond_inputs.context = config.cond.context.repeat({2, 1, 1});
  const auto du = ds::denoise_with_model(model, sd_schedule(), x, sigma, uncond_inputs, true, ds::Prediction::Epsilon);
  const auto dc = ds::denoise_with_model(model, sd_schedule(), x, sigma, cond_inputs, true, ds::Prediction::Epsilon);
  EXPECT_TRUE(at::allclose(out, ds::cfg_blend(dc, du, 5.0), 1e-6, 1e-6));
  // c_in scaled input, quantized t.
  EXPECT_TRUE(at::allclose(calls[0].x.slice(0, 0, 2), x / std::sqrt(10.0f)));
  EXPECT_EQ(calls[0].t[0].item<std::int64_t>(), sd_schedule().sigma_to_t(at::tensor({3.0f}), true).item<std::int64_t>());
}

TEST(Guidance, ScaleOneSkipsTheUncondPass) {
  std::vector<RecordedCall> calls;
  ds::GuidanceConfig config;
  config.cond.context = at::randn({1, 77, 8});
  config.scale = 1.0;
  config.quantize_t = false;
  const auto denoiser = ds::make_cfg_denoiser(recording_model(calls), sd_schedule(), config);
  denoiser(at::randn({1, 4, 4, 4}), at::scalar_tensor(2.0f));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].x.size(0), 1);
  EXPECT_EQ(calls[0].t.scalar_type(), at::kFloat);
  config.scale = 2.0;
  EXPECT_THROW(ds::make_cfg_denoiser(recording_model(calls), sd_schedule(), config), std::invalid_argument);
}

TEST(Guidance, LongPromptsAreRepeatedToTheCommonLength) {
  std::vector<RecordedCall> calls;
  ds::GuidanceConfig config;
  config.cond.context = at::randn({1, 154, 8});
  config.uncond.context = at::randn({1, 77, 8});
  config.scale = 4.0;
  const auto denoiser = ds::make_cfg_denoiser(recording_model(calls), sd_schedule(), config);
  const auto x = at::randn({1, 4, 4, 4});
  const auto out = denoiser(x, at::scalar_tensor(1.0f));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].context.size(1), 154);
  EXPECT_TRUE(at::equal(calls[0].context[0].slice(0, 77, 154), config.uncond.context[0]));

  // 77 against 5·77: more than 4 repeats, so ComfyUI runs them separately.
  calls.clear();
  config.cond.context = at::randn({1, 385, 8});
  const auto separate = ds::make_cfg_denoiser(recording_model(calls), sd_schedule(), config);
  separate(x, at::scalar_tensor(1.0f));
  EXPECT_EQ(calls.size(), 2u);
  EXPECT_FALSE(ds::batch_contexts(config.uncond.context, config.cond.context).defined());
  EXPECT_TRUE(out.isfinite().all().item<bool>());
}

TEST(Guidance, EveryModelInputIsBatchedWithItsRows) {
  // y vectors (SDXL's size conditioning) travel with their context: uncond rows first, each
  // repeated to the sample batch, in the same single call.
  std::vector<RecordedCall> calls;
  ds::GuidanceConfig config;
  config.cond.context = at::randn({1, 77, 8});
  config.cond.y = at::randn({1, 6});
  config.uncond.context = at::randn({1, 77, 8});
  config.uncond.y = at::randn({1, 6});
  config.scale = 3.0;
  const auto denoiser = ds::make_cfg_denoiser(recording_model(calls), sd_schedule(), config);
  const auto x = at::randn({2, 4, 4, 4});
  denoiser(x, at::tensor({2.0f, 2.0f}));
  ASSERT_EQ(calls.size(), 1u);
  ASSERT_TRUE(calls[0].y.defined());
  ASSERT_EQ(calls[0].y.size(0), 4);
  EXPECT_TRUE(at::equal(calls[0].y[1], config.uncond.y[0]));
  EXPECT_TRUE(at::equal(calls[0].y[2], config.cond.y[0]));
  // One side with a y and the other without cannot be one batch.
  config.uncond.y = torch::Tensor();
  const auto mismatched = ds::make_cfg_denoiser(recording_model(calls), sd_schedule(), config);
  EXPECT_THROW(mismatched(x, at::tensor({2.0f, 2.0f})), std::invalid_argument);
}

// --- KSampler plans, img2img, inpainting ------------------------------------------------------------------

TEST(SamplingPlan, SigmasForDenoise) {
  const auto& s = sd_schedule();
  EXPECT_TRUE(at::equal(ds::sigmas_for_denoise(s, "karras", 8, 1.0), ds::compute_sigmas(s, "karras", 8)));
  EXPECT_TRUE(at::equal(ds::sigmas_for_denoise(s, "karras", 8, 0.5), ds::compute_sigmas(s, "karras", 16).slice(0, 8)));
  EXPECT_TRUE(at::equal(ds::sigmas_for_denoise(s, "normal", 10, 0.3), ds::compute_sigmas(s, "normal", 33).slice(0, 23)));
  EXPECT_EQ(ds::sigmas_for_denoise(s, "karras", 8, 0.0).numel(), 0);
  // dpm_2 plans one step more and drops the σ before the final 0.
  const auto nine = ds::compute_sigmas(s, "karras", 9);
  const auto dpm2 = ds::sigmas_for_denoise(s, "karras", 8, 1.0, "dpm_2");
  ASSERT_EQ(dpm2.numel(), 9);
  EXPECT_TRUE(at::equal(dpm2.slice(0, 0, 8), nine.slice(0, 0, 8)));
  EXPECT_EQ(dpm2[8].item<float>(), 0.0f);
}

TEST(SamplingPlan, SliceSigmas) {
  const auto sigmas = ds::compute_sigmas(sd_schedule(), "karras", 10);
  const auto middle = ds::slice_sigmas(sigmas, 2, 6, true);
  ASSERT_EQ(middle.numel(), 5);
  EXPECT_EQ(middle[0].item<float>(), sigmas[2].item<float>());
  EXPECT_EQ(middle[4].item<float>(), 0.0f);
  const auto kept = ds::slice_sigmas(sigmas, 0, 6, false);
  EXPECT_EQ(kept[6].item<float>(), sigmas[6].item<float>());
  EXPECT_EQ(ds::slice_sigmas(sigmas, 10, -1, false).numel(), 0);
  EXPECT_TRUE(at::equal(ds::slice_sigmas(sigmas, 0, -1, false), sigmas));
}

TEST(SamplingPlan, Img2ImgStartsFromTheNoisedLatent) {
  const auto sigmas = ds::sigmas_for_denoise(sd_schedule(), "karras", 8, 0.5);
  const auto latent = at::randn({1, 4, 8, 8});
  const auto noise = ds::initial_noise(3, {1, 4, 8, 8});
  EXPECT_TRUE(at::equal(ds::noised_start(latent, noise, sigmas), noise * sigmas[0] + latent));
  EXPECT_TRUE(at::equal(ds::noised_start({}, noise, sigmas), noise * sigmas[0]));
  // ComfyUI's full-denoise scaling √(1+σ²) applies only at σ_max.
  const auto full = ds::compute_sigmas(sd_schedule(), "karras", 8);
  const auto comfy = ds::noised_start({}, noise, full, true, &sd_schedule());
  EXPECT_TRUE(at::allclose(comfy, noise * std::sqrt(1.0 + std::pow(full[0].item<double>(), 2))));
  EXPECT_TRUE(at::equal(ds::noised_start({}, noise, sigmas, true, &sd_schedule()), noise * sigmas[0]));
}

TEST(SamplingPlan, MaskIsResizedBilinearlyToTheLatent) {
  auto mask = at::zeros({64, 64});
  mask.slice(1, 0, 32).fill_(1.0);
  const auto prepared = ds::prepare_denoise_mask(mask, {2, 4, 8, 8});
  ASSERT_EQ(prepared.sizes(), (std::vector<std::int64_t>{2, 4, 8, 8}));
  EXPECT_TRUE(at::equal(prepared.slice(3, 0, 4), at::ones({2, 4, 8, 4})));
  EXPECT_TRUE(at::equal(prepared.slice(3, 4, 8), at::zeros({2, 4, 8, 4})));
  const auto small = ds::prepare_denoise_mask(at::full({1, 1, 4, 4}, 0.25), {1, 4, 8, 8});
  EXPECT_TRUE(at::allclose(small, at::full({1, 4, 8, 8}, 0.25)));
  EXPECT_THROW(ds::prepare_denoise_mask(at::zeros({4}), {1, 4, 8, 8}), std::invalid_argument);
}

TEST(SamplingPlan, InpaintingMasks) {
  const auto sigmas = ds::sigmas_for_denoise(sd_schedule(), "karras", 6, 0.8);
  const auto latent = at::randn({1, 4, 8, 8});
  ds::KSamplerRun request;
  request.latent = latent;
  request.noise = ds::initial_noise(21, {1, 4, 8, 8});
  request.sigmas = sigmas;
  request.seed = 21;
  for (const char* name : {"euler", "euler_ancestral", "dpmpp_2m", "heun", "ddim", "uni_pc"}) {
    SCOPED_TRACE(name);
    const auto sampler = ds::make_sampler(name);
    request.denoise_mask = torch::Tensor();
    const auto plain = ds::ksample(*sampler, analytic_denoised, request);
    EXPECT_FALSE(at::equal(plain, latent));

    request.denoise_mask = at::zeros({8, 8});
    EXPECT_TRUE(at::equal(ds::ksample(*sampler, analytic_denoised, request), latent));

    request.denoise_mask = at::ones({1, 1, 8, 8});
    const auto ones = ds::ksample(*sampler, analytic_denoised, request);
    // (ddim's fresh re-noising noise only enters the kept region, which is empty here.)
    EXPECT_TRUE(at::equal(ones, plain));

    auto half = at::zeros({8, 8});
    half.slice(0, 0, 4).fill_(1.0);
    request.denoise_mask = half;
    const auto inpainted = ds::ksample(*sampler, analytic_denoised, request);
    EXPECT_TRUE(at::equal(inpainted.slice(2, 4, 8), latent.slice(2, 4, 8)));
    EXPECT_FALSE(at::equal(inpainted.slice(2, 0, 4), latent.slice(2, 0, 4)));
  }
}

TEST(SamplingPlan, InpaintDenoiserResetsTheKeptRegion) {
  const auto latent = at::full({1, 1, 2, 2}, 3.0f);
  const auto noise = at::full({1, 1, 2, 2}, 1.0f);
  auto mask = at::zeros({1, 1, 2, 2});
  mask.index_put_({0, 0, 0, 0}, 1.0);
  torch::Tensor seen;
  const ds::Denoiser inner = [&](const torch::Tensor& x, const torch::Tensor&) {
    seen = x;
    return at::full_like(x, -1.0f);
  };
  const auto wrapped = ds::inpaint_denoiser(inner, latent, noise, mask);
  const auto out = wrapped(at::full({1, 1, 2, 2}, 10.0f), at::tensor({2.0f}));
  // Model input: x where repainted, latent + noise·σ = 5 where kept; output: latent where kept.
  EXPECT_TRUE(at::equal(seen, at::tensor({10.0f, 5.0f, 5.0f, 5.0f}).reshape({1, 1, 2, 2})));
  EXPECT_TRUE(at::equal(out, at::tensor({-1.0f, 3.0f, 3.0f, 3.0f}).reshape({1, 1, 2, 2})));
}

TEST(SamplingPlan, NothingToDoReturnsTheLatent) {
  ds::KSamplerRun request;
  request.latent = at::randn({1, 4, 4, 4});
  request.noise = at::randn({1, 4, 4, 4});
  request.sigmas = ds::sigmas_for_denoise(sd_schedule(), "karras", 8, 0.0);
  EXPECT_TRUE(at::equal(ds::ksample(*ds::make_sampler("euler"), analytic_denoised, request), request.latent));
}

// --- CompVis DDIM --------------------------------------------------------------------------------------------

TEST(Ddim, TimestepsAndCoefficients) {
  EXPECT_EQ(ds::ddim_timesteps(8), (std::vector<std::int64_t>{1, 126, 251, 376, 501, 626, 751, 876}));
  EXPECT_EQ(ds::ddim_timesteps(1000).size(), 1000u);
  EXPECT_THROW(ds::ddim_timesteps(0), std::invalid_argument);
  const auto c = ds::ddim_coefficients(sd_schedule(), ds::ddim_timesteps(8), 0.0);
  const auto ac = sd_schedule().alphas_cumprod();
  EXPECT_EQ(c.a_t[0].item<float>(), ac[876].item<float>());
  EXPECT_EQ(c.a_prev[0].item<float>(), ac[751].item<float>());
  EXPECT_EQ(c.a_prev[7].item<float>(), ac[0].item<float>());
  EXPECT_EQ(c.sigma_t.abs().max().item<float>(), 0.0f);
  const auto noisy = ds::ddim_coefficients(sd_schedule(), ds::ddim_timesteps(8), 1.0);
  EXPECT_GT(noisy.sigma_t[3].item<float>(), 0.0f);
}

TEST(Ddim, ExactEpsilonOfAPointMassPredictsThePoint) {
  const auto point = at::linspace(-1.0, 1.0, 64).reshape({1, 4, 4, 4});
  const auto ac = sd_schedule().alphas_cumprod();
  const ds::EpsModel eps = [&](const torch::Tensor& x, const torch::Tensor& t) {
    const auto a = ac.index({t}).reshape({-1, 1, 1, 1});
    return (x - a.sqrt() * point) / (1 - a).sqrt();
  };
  const auto x_T = ds::initial_noise(4, {1, 4, 4, 4});
  int steps_seen = 0;
  const auto out = ds::ddim_sample(eps, sd_schedule(), ds::ddim_timesteps(10), x_T, 0.0, {},
                                   [&](std::int64_t, const torch::Tensor&, const torch::Tensor& pred_x0) {
                                     EXPECT_LE(max_abs_diff(pred_x0, point), 5e-4);
                                     ++steps_seen;
                                     return true;
                                   });
  EXPECT_EQ(steps_seen, 10);
  // Exact ε stays the first step's; the last step lands at ᾱ[0], not at ᾱ = 1.
  const double a_first = ac[901].item<double>();
  const auto eps_first = (x_T - std::sqrt(a_first) * point) / std::sqrt(1 - a_first);
  const double a0 = ac[0].item<double>();
  EXPECT_LE(max_abs_diff(out, std::sqrt(a0) * point + std::sqrt(1 - a0) * eps_first), 5e-4);
  EXPECT_THROW(ds::ddim_sample(eps, sd_schedule(), ds::ddim_timesteps(10), x_T, 0.5), std::invalid_argument);
}
