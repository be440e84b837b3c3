// sampling_fixture_tests.cpp — the sampling library against every handled `schedule`, `sampling`,
// `ddim`, `noise`, `pipeline_txt2img` and `pipeline_img2img` case of the golden fixtures (README
// §6, §7, §9), one `fixture <id>: ok|FAIL` line each.
//
// Everything — sampler, scheduler, steps, CFG scale, seeds, shapes, prompts, tolerances — comes
// from the cases and their configs. The denoiser is the tiny U-Net of the case's checkpoint with
// classifier-free guidance; the pipelines add the tokenizer, the CLIP text encoder and the VAE.
#include <gtest/gtest.h>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>
#include <iostream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "models/checkpoint.hpp"
#include "models/clip_text_model.hpp"
#include "models/clip_tokenizer.hpp"
#include "models/sdxl_conditioning.hpp"
#include "models/safetensors.hpp"
#include "sampling/ddim.hpp"
#include "sampling/guidance.hpp"
#include "sampling/noise.hpp"
#include "sampling/noise_schedule.hpp"
#include "sampling/samplers.hpp"
#include "sampling/sampling_plan.hpp"
#include "sampling/schedulers.hpp"
#include "support/case_report.hpp"
#include "support/fixtures.hpp"
#include "models/tensor_io.hpp"
#include "models/unet.hpp"
#include "models/vae.hpp"

namespace {

namespace dm = diffgraph::models;
namespace ds = diffgraph::sampling;
namespace dt = diffgraph::testing;
using nlohmann::json;

json at_pointer(const json& document, const std::string& pointer) {
  return document.at(json::json_pointer(pointer));
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.numel() == 0) return 0.0;
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

/// The largest difference in units of the expected value's float32 spacing (0 = bitwise).
double max_ulps(const torch::Tensor& mine, const torch::Tensor& expected) {
  const auto e = expected.to(torch::kFloat64);
  const auto spacing = at::nextafter(e.abs().to(torch::kFloat32), at::full_like(e, INFINITY, torch::kFloat32))
                           .to(torch::kFloat64) -
                       e.abs().to(torch::kFloat32).to(torch::kFloat64);
  return ((mine.to(torch::kFloat64) - e).abs() / spacing.clamp_min(std::numeric_limits<float>::denorm_min()))
      .max()
      .item<double>();
}

/// A tensor of the case: from the file of role `role`.
torch::Tensor load(const dt::FixtureCase& c, const std::string& role, const std::string& name) {
  return dm::load_tensor(dm::SafetensorsFile::open(c.file(role)), name);
}

/// An input of the case, from the file its `inputs` entry names.
torch::Tensor input(const dt::FixtureCase& c, const std::string& name) {
  return load(c, c.entry.at("inputs").at(name).get<std::string>(), name);
}

bool has_input(const dt::FixtureCase& c, const std::string& name) {
  return c.entry.contains("inputs") && c.entry.at("inputs").contains(name);
}

/// Compares every output the case lists (all must be in `mine`) with its tolerance. Outputs
/// without a tolerance (schedule tables) must agree to a few float32 ulps (bitwise with the
/// reference's kernels); integer outputs exactly.
void expect_outputs(const dt::FixtureCase& c, const std::map<std::string, torch::Tensor>& mine) {
  const auto data = dm::SafetensorsFile::open(c.file("data"));
  for (const auto& name : c.outputs()) {
    SCOPED_TRACE(c.id() + " output " + name);
    const auto it = mine.find(name);
    ASSERT_NE(it, mine.end()) << "the test does not compute " << name;
    const auto expected = dm::load_tensor(data, name);
    ASSERT_EQ(it->second.sizes(), expected.sizes());
    if (!expected.is_floating_point()) {
      EXPECT_TRUE(torch::equal(it->second.to(expected.scalar_type()), expected));
      continue;
    }
    const bool has_tolerance = !c.entry.at("outputs").at(name).is_null();
    const double diff = max_abs_diff(it->second, expected);
    if (has_tolerance) {
      EXPECT_LE(diff, c.atol(name)) << "max |diff| " << diff;
      std::cout << "[compare] " << c.id() << " " << name << ": max |diff| " << diff << " (atol " << c.atol(name)
                << ")\n";
    } else {
      const double ulps = max_ulps(it->second, expected);
      EXPECT_LE(ulps, 4.0) << "max |diff| " << diff << " = " << ulps << " ulps";
      std::cout << "[compare] " << c.id() << " " << name << ": " << ulps << " ulps\n";
    }
  }
}

/// The training schedule of the case's checkpoint (its config's `schedule`); cases without
/// weights use the checkpoint of a case from the same config file.
ds::ScheduleConfig schedule_config(const dt::FixtureCase& c) {
  json weights;
  if (c.entry.contains("weights")) {
    weights = c.entry.at("weights");
  } else {
    for (const auto& other : dt::fixture_cases("")) {
      if (other.entry.at("config") == c.entry.at("config") && other.entry.contains("weights")) {
        weights = other.entry.at("weights");
        break;
      }
    }
  }
  if (weights.is_null()) throw std::runtime_error(c.id() + ": no checkpoint config to take the schedule from");
  const auto checkpoint = dt::read_json_file(dt::FixtureCase::path(weights.at("config").get<std::string>()));
  const auto& s = checkpoint.at("schedule");
  ds::ScheduleConfig config;
  config.timesteps = s.at("timesteps").get<std::int64_t>();
  config.beta_schedule = ds::beta_schedule_from_compvis_name(s.at("beta_schedule").get<std::string>());
  config.linear_start = s.at("linear_start").get<double>();
  config.linear_end = s.at("linear_end").get<double>();
  return config;
}

/// The case's U-Net (weights file, prefix and config from its `weights` entry).
dm::UNetModel load_case_unet(const dt::FixtureCase& c) {
  const auto& w = c.entry.at("weights");
  const auto file = dm::SafetensorsFile::open(dt::FixtureCase::path(w.at("file").get<std::string>()));
  const auto config = at_pointer(dt::read_json_file(dt::FixtureCase::path(w.at("config").get<std::string>())),
                                 w.at("config_pointer").get<std::string>());
  return dm::load_unet(file, w.at("prefix").get<std::string>(), config, torch::TensorOptions(torch::kFloat32));
}

ds::SamplerOptions sampler_options(const json& kwargs) {
  ds::SamplerOptions options;
  for (const auto& [key, value] : kwargs.items()) {
    if (key == "eta") {
      options.eta = value.get<double>();
    } else if (key == "s_noise") {
      options.s_noise = value.get<double>();
    } else if (key == "order") {
      options.lms_order = value.get<int>();
    } else if (key == "r") {
      options.sde_r = value.get<double>();
    } else if (key == "solver_type") {
      options.solver_type = value.get<std::string>();
    } else {
      throw std::runtime_error("sampler kwarg '" + key + "' is not supported by the test");
    }
  }
  return options;
}

std::string case_name(const ::testing::TestParamInfo<dt::FixtureCase>& info) {
  return dt::case_test_name(info.param.id());
}

// --- schedule -----------------------------------------------------------------------------------------

class ScheduleFixture : public ::testing::TestWithParam<dt::FixtureCase> {};

TEST_P(ScheduleFixture, TablesSchedulersAndConversions) {
  const auto& c = GetParam();
  const dt::CaseReport case_report(c.id());
  const ds::DiscreteSchedule schedule(schedule_config(c));
  std::map<std::string, torch::Tensor> mine{
      {"betas", schedule.betas().to(torch::kFloat32)},
      {"alphas_cumprod", schedule.alphas_cumprod()},
      {"sigmas", schedule.sigmas()},
      {"log_sigmas", schedule.log_sigmas()},
      {"sigma_min", schedule.sigma_min()},
      {"sigma_max", schedule.sigma_max()},
  };
  const auto data = dm::SafetensorsFile::open(c.file("data"));
  if (data.find("betas_f64") != nullptr) {
    EXPECT_TRUE(torch::equal(schedule.betas(), dm::load_tensor(data, "betas_f64"))) << "betas_f64";
  }
  for (const auto& test : c.entry.at("tests")) {
    const std::string op = test.at("op");
    const auto in = dm::load_tensor(data, test.at("input").get<std::string>());
    torch::Tensor out;
    if (op == "sigma_to_t_quantized") {
      out = schedule.sigma_to_t(in, true);
    } else if (op == "sigma_to_t_interp") {
      out = schedule.sigma_to_t(in, false);
    } else if (op == "t_to_sigma") {
      out = schedule.t_to_sigma(in);
    } else {
      FAIL() << "unknown schedule test op " << op;
    }
    mine[test.at("output").get<std::string>()] = out;
  }
  for (const auto& s : c.entry.at("schedules")) {
    mine[s.at("tensor").get<std::string>()] =
        ds::compute_sigmas(schedule, s.at("scheduler").get<std::string>(), s.at("steps").get<std::int64_t>());
  }
  expect_outputs(c, mine);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ScheduleFixture, ::testing::ValuesIn(dt::fixture_cases("schedule")), case_name);

// --- noise --------------------------------------------------------------------------------------------------

class NoiseFixture : public ::testing::TestWithParam<dt::FixtureCase> {};

TEST_P(NoiseFixture, MatchesOneCpuKernel) {
  const auto& c = GetParam();
  const dt::CaseReport case_report(c.id());
  const auto seed = ds::parse_seed(c.entry.at("seed_str").get<std::string>());
  const auto shape = c.entry.at("shape").get<std::vector<std::int64_t>>();
  const auto draws = c.entry.at("draws").get<std::int64_t>();
  const std::string role = c.entry.at("role");
  torch::Tensor mine;
  if (role == "initial") {
    ASSERT_EQ(draws, 1);
    mine = ds::initial_noise(seed, shape);
  } else if (role == "sequence") {
    ds::NoiseSequence sequence(seed, shape);
    std::vector<torch::Tensor> all;
    for (std::int64_t k = 0; k < draws; ++k) all.push_back(sequence.next());
    mine = torch::stack(all);
  } else {
    FAIL() << "unknown noise role " << role;
  }
  ASSERT_EQ(mine.sizes().vec(), c.entry.at("tensor_shape").get<std::vector<std::int64_t>>());
  const auto data = dm::SafetensorsFile::open(c.file("data"));
  bool any_within = false;
  std::string report;
  for (const auto& name : c.outputs()) {
    const auto expected = dm::load_tensor(data, name);
    const bool bitwise = torch::equal(mine, expected);
    const double diff = max_abs_diff(mine, expected);
    any_within = any_within || diff <= c.atol(name);
    report += name + (bitwise ? ": bitwise; " : ": max |diff| " + std::to_string(diff) + "; ");
  }
  EXPECT_TRUE(any_within) << report;
  std::cout << "[noise] " << c.id() << " — " << report << "\n";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, NoiseFixture, ::testing::ValuesIn(dt::fixture_cases("noise")), case_name);

// --- k-diffusion samplers with CFG --------------------------------------------------------------------------

class SamplingFixture : public ::testing::TestWithParam<dt::FixtureCase> {};

TEST_P(SamplingFixture, TrajectoryMatchesReference) {
  const auto& c = GetParam();
  const dt::CaseReport case_report(c.id());
  const auto& e = c.entry;
  torch::InferenceMode inference;
  const ds::DiscreteSchedule schedule(schedule_config(c));
  const auto steps = e.at("steps").get<std::int64_t>();
  const auto sigmas = ds::compute_sigmas(schedule, e.at("scheduler").get<std::string>(), steps);
  const auto data = dm::SafetensorsFile::open(c.file("data"));
  EXPECT_LE(max_ulps(sigmas, dm::load_tensor(data, "sigmas")), 4.0) << "scheduler sigmas";

  auto unet = load_case_unet(c);
  std::vector<torch::Tensor> calls_t;
  const ds::NoiseModel model = [&](const torch::Tensor& x, const torch::Tensor& t, const dm::ModelInputs& inputs) {
    calls_t.push_back(t.slice(0, 0, 1));
    return unet->forward(x, t, inputs);
  };
  ds::GuidanceConfig guidance;
  guidance.cond.context = input(c, "cond");
  guidance.uncond.context = input(c, "uncond");
  guidance.scale = e.at("cfg_scale").get<double>();
  guidance.quantize_t = e.at("quantize_t").get<bool>();
  const auto cfg = ds::make_cfg_denoiser(model, schedule, guidance);
  std::vector<torch::Tensor> calls_denoised;
  const ds::Denoiser denoiser = [&](const torch::Tensor& x, const torch::Tensor& sigma) {
    auto d = cfg(x, sigma);
    calls_denoised.push_back(d);
    return d;
  };

  const auto sampler = ds::make_sampler(e.at("sampler").get<std::string>(), sampler_options(e.at("sampler_kwargs")));
  std::int64_t noise_used = 0;
  ds::NoiseSampler noise;
  if (has_input(c, "ancestral_noise")) {
    const auto ancestral = input(c, "ancestral_noise");
    noise = [ancestral, &noise_used](const torch::Tensor&, const torch::Tensor&) { return ancestral[noise_used++]; };
  }
  const auto x_start = ds::noised_start({}, input(c, "noise"), sigmas);
  EXPECT_LE(max_abs_diff(x_start, dm::load_tensor(data, "x_start")), c.atol("x_final")) << "x_start";

  auto state = sampler->start(x_start, sigmas, noise);
  std::vector<torch::Tensor> x_per_step;
  for (std::int64_t i = 0; i < steps; ++i) {
    sampler->step(state, i, denoiser);
    x_per_step.push_back(state.x);
  }
  ASSERT_TRUE(state.done());

  EXPECT_EQ(static_cast<std::int64_t>(calls_denoised.size()), c.params.at("n_model_calls").get<std::int64_t>());
  if (c.params.contains("noise_used")) EXPECT_EQ(noise_used, c.params.at("noise_used").get<std::int64_t>());
  // Diagnostics: the timesteps the U-Net saw, and lms' integration coefficients.
  const auto ref_t = dm::load_tensor(data, "calls_t");
  ASSERT_EQ(static_cast<std::int64_t>(calls_t.size()), ref_t.size(0));
  const auto my_t = torch::cat(calls_t);
  if (guidance.quantize_t) {
    EXPECT_TRUE(torch::equal(my_t, ref_t)) << "calls_t";
  } else {
    EXPECT_LE(max_abs_diff(my_t, ref_t), 1e-3) << "calls_t";
  }
  if (data.find("lms_coeffs") != nullptr) {
    const auto ref = dm::load_tensor(data, "lms_coeffs");
    const auto table = sigmas.contiguous();
    const std::vector<float> values(table.data_ptr<float>(), table.data_ptr<float>() + table.numel());
    double worst = 0;
    for (std::int64_t i = 0; i < steps; ++i) {
      const int order = static_cast<int>(std::min<std::int64_t>(i + 1, sampler->options().lms_order));
      const auto coefficients = ds::lms_coefficients(values, i, order);
      for (int j = 0; j < order; ++j) {
        const double expected = ref[i][j].item<double>();
        worst = std::max(worst, std::fabs(coefficients[static_cast<std::size_t>(j)] - expected) /
                                    std::max(std::fabs(expected), 1e-12));
      }
    }
    EXPECT_LE(worst, 1e-9) << "lms coefficients, worst relative difference";
  }

  expect_outputs(c, {{"x_final", state.x},
                     {"x_per_step", torch::stack(x_per_step)},
                     {"calls_denoised", torch::stack(calls_denoised)}});
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SamplingFixture, ::testing::ValuesIn(dt::fixture_cases("sampling")), case_name);

// --- CompVis DDIM -------------------------------------------------------------------------------------------

class DdimFixture : public ::testing::TestWithParam<dt::FixtureCase> {};

TEST_P(DdimFixture, MatchesCompVisSampler) {
  const auto& c = GetParam();
  const dt::CaseReport case_report(c.id());
  const auto& e = c.entry;
  torch::InferenceMode inference;
  const ds::DiscreteSchedule schedule(schedule_config(c));
  const auto steps = e.at("steps").get<std::int64_t>();
  auto timesteps = ds::ddim_timesteps(steps, schedule.size());
  const auto reference_order = at_pointer(c.config, e.at("timesteps_pointer").get<std::string>())
                                   .get<std::vector<std::int64_t>>();
  EXPECT_EQ(std::vector<std::int64_t>(timesteps.rbegin(), timesteps.rend()), reference_order);

  const auto data = dm::SafetensorsFile::open(c.file("data"));
  const double eta = e.at("eta").get<double>();
  const auto coefficients = ds::ddim_coefficients(schedule, timesteps, eta);
  for (const auto& [name, mine] : std::map<std::string, torch::Tensor>{{"a_t", coefficients.a_t},
                                                                         {"a_prev", coefficients.a_prev},
                                                                         {"sigma_t", coefficients.sigma_t},
                                                                         {"sqrt_one_minus_a_t", coefficients.sqrt_one_minus_a_t}}) {
    EXPECT_TRUE(torch::equal(mine.to(torch::kFloat64), dm::load_tensor(data, name))) << name;
  }

  auto unet = load_case_unet(c);
  std::vector<torch::Tensor> calls_t;
  const ds::NoiseModel model = [&](const torch::Tensor& x, const torch::Tensor& t, const dm::ModelInputs& inputs) {
    calls_t.push_back(t.slice(0, 0, 1));
    return unet->forward(x, t, inputs);
  };
  ds::GuidanceConfig guidance;
  guidance.cond.context = input(c, "cond");
  guidance.uncond.context = input(c, "uncond");
  guidance.scale = e.at("cfg_scale").get<double>();
  const auto eps = ds::make_cfg_eps_model(model, guidance);

  const auto x_T = input(c, "noise");
  EXPECT_TRUE(torch::equal(x_T, dm::load_tensor(data, "x_T"))) << "DDIM starts from the unscaled noise";
  std::vector<torch::Tensor> x_per_step;
  std::vector<torch::Tensor> pred_x0_per_step;
  const ds::NoiseSampler no_noise;
  const auto x = ds::ddim_sample(eps, schedule, timesteps, x_T, eta, no_noise,
                                 [&](std::int64_t, const torch::Tensor& xi, const torch::Tensor& pred_x0) {
                                   x_per_step.push_back(xi);
                                   pred_x0_per_step.push_back(pred_x0);
                                   return true;
                                 });
  EXPECT_TRUE(torch::equal(torch::cat(calls_t), dm::load_tensor(data, "calls_t"))) << "calls_t";
  expect_outputs(c, {{"x_final", x},
                     {"x_per_step", torch::stack(x_per_step)},
                     {"pred_x0_per_step", torch::stack(pred_x0_per_step)}});
}

INSTANTIATE_TEST_SUITE_P(Fixtures, DdimFixture, ::testing::ValuesIn(dt::fixture_cases("ddim")), case_name);

// --- pipelines: prompt → tokens → CLIP → CFG sampling → VAE decode ------------------------------------------

class PipelineFixture : public ::testing::TestWithParam<dt::FixtureCase> {};

// A pipeline case's checkpoint config (its `weights` entry), the checkpoint and the expected data.
struct PipelineFiles {
  json checkpoint_config;
  dm::SafetensorsFile weights;
  dm::SafetensorsFile data;
};

PipelineFiles pipeline_files(const dt::FixtureCase& c) {
  const auto& w = c.entry.at("weights");
  return {at_pointer(dt::read_json_file(dt::FixtureCase::path(w.at("config").get<std::string>())),
                     w.at("config_pointer").get<std::string>()),
          dm::SafetensorsFile::open(dt::FixtureCase::path(w.at("file").get<std::string>())),
          dm::SafetensorsFile::open(c.file("data"))};
}

// SDXL (README §12.7): CLIP-L's penultimate layer and CLIP-G's (neither with the final LN)
// concatenated as the context, CLIP-G's projected pooled output and the size conditioning as
// the y vector, each prompt encoded on its own as sgm's conditioner does; then the same CFG
// sampling with ModelInputs {context, y}, and the VAE at the SDXL scale.
void check_sdxl_txt2img(const dt::FixtureCase& c) {
  const auto& e = c.entry;
  torch::InferenceMode inference;
  const auto [checkpoint_config, weights, data] = pipeline_files(c);
  const auto options = torch::TensorOptions(torch::kFloat32);
  const auto tokenizer = dm::ClipTokenizer::from_bpe_gz(dt::fixture_data_path("clip_bpe_gz"));

  const json l_config = dt::fixture_model_config(checkpoint_config.at("text_encoder_l"));
  const json g_config = dt::fixture_model_config(checkpoint_config.at("text_encoder_g"));
  auto clip_l = dm::load_clip_text(weights, l_config.at("prefix").get<std::string>(), l_config, options);
  auto clip_g = dm::load_clip_text(weights, g_config.at("prefix").get<std::string>(), g_config, options);
  const auto& sizes = e.at("size_conditioning");
  const auto size_tensor = [&](const char* key) {
    return torch::tensor(sizes.at(key).get<std::vector<std::int64_t>>(), torch::kInt64).unsqueeze(0);
  };

  struct Encoded {
    torch::Tensor ids_l, ids_g, context, pooled, y;
  };
  const auto encode = [&](const std::string& text) {
    Encoded out;
    const auto ids_l = tokenizer.encode_77(text, l_config.at("pad_token_id").get<int>());
    const auto ids_g = tokenizer.encode_77(text, 0, dm::SpecialTokenTexts::OpenClip);
    out.ids_l = torch::tensor(std::vector<std::int64_t>(ids_l.begin(), ids_l.end())).unsqueeze(0);
    out.ids_g = torch::tensor(std::vector<std::int64_t>(ids_g.begin(), ids_g.end())).unsqueeze(0);
    const auto l = clip_l->forward(out.ids_l, 1, /*keep_hidden_states=*/true);
    const auto g = clip_g->forward(out.ids_g, 1, /*keep_hidden_states=*/true);
    const auto l_hidden = l.hidden_states.at(l.hidden_states.size() - 2);  // penultimate, no final LN
    const auto g_hidden = g.hidden_states.at(g.hidden_states.size() - 2);
    out.context = torch::cat({l_hidden, g_hidden}, -1);
    out.pooled = g.pooled_projected;
    out.y = dm::sdxl_base_y(out.pooled, size_tensor("original_size_as_tuple"), size_tensor("crop_coords_top_left"),
                            size_tensor("target_size_as_tuple"));
    return out;
  };
  const Encoded cond = encode(e.at("prompt").get<std::string>());
  const Encoded uncond = encode(e.at("negative_prompt").get<std::string>());
  // Diagnostics on the way: the tokens and the encoders' outputs, row 0 the prompt, row 1 the negative.
  EXPECT_TRUE(torch::equal(torch::cat({cond.ids_l, uncond.ids_l}), dm::load_tensor(data, "input_ids_l"))) << "input_ids_l";
  EXPECT_TRUE(torch::equal(torch::cat({cond.ids_g, uncond.ids_g}), dm::load_tensor(data, "input_ids_g"))) << "input_ids_g";
  EXPECT_LE(max_abs_diff(torch::cat({cond.pooled, uncond.pooled}), dm::load_tensor(data, "clip_g_pooled")),
            c.atol("cond_vector"))
      << "clip_g_pooled";

  const json unet_config = checkpoint_config.at("unet");
  auto unet = dm::load_unet(weights, unet_config.at("prefix").get<std::string>(), unet_config, options);
  const json vae_config = checkpoint_config.at("vae");
  auto vae = dm::load_vae(weights, vae_config.at("prefix").get<std::string>(), vae_config, options);
  const ds::DiscreteSchedule schedule(schedule_config(c));

  const auto sampler_name = e.at("sampler").get<std::string>();
  const auto sigmas = ds::sigmas_for_denoise(schedule, e.at("scheduler").get<std::string>(),
                                             e.at("steps").get<std::int64_t>(), 1.0, sampler_name);
  EXPECT_LE(max_ulps(sigmas, dm::load_tensor(data, "sigmas")), 4.0) << "sigmas";
  ds::GuidanceConfig guidance;
  guidance.cond.context = cond.context;
  guidance.cond.y = cond.y;
  guidance.uncond.context = uncond.context;
  guidance.uncond.y = uncond.y;
  guidance.scale = e.at("cfg_scale").get<double>();
  guidance.quantize_t = c.config.at("t_quantized").get<bool>();
  const ds::NoiseModel model = [&](const torch::Tensor& x, const torch::Tensor& t, const dm::ModelInputs& inputs) {
    return unet->forward(x, t, inputs);
  };
  ds::KSamplerRun run;
  run.noise = input(c, "noise");
  run.sigmas = sigmas;
  const auto sampler = ds::make_sampler(sampler_name);
  const auto latent = ds::ksample(*sampler, ds::make_cfg_denoiser(model, schedule, guidance), run);
  const auto decoded = vae->decode(latent * (1.0 / c.config.at("scale_factor").get<double>()));
  const auto image = torch::clamp((decoded + 1.0) / 2.0, 0.0, 1.0);
  expect_outputs(c, {{"cond_crossattn", cond.context},
                     {"uncond_crossattn", uncond.context},
                     {"cond_vector", cond.y},
                     {"uncond_vector", uncond.y},
                     {"latent", latent},
                     {"decoded", decoded},
                     {"image", image}});
}

TEST_P(PipelineFixture, PromptToImage) {
  const auto& c = GetParam();
  const dt::CaseReport case_report(c.id());
  if (c.entry.at("variant") == "sdxl") {
    check_sdxl_txt2img(c);
    return;
  }
  const auto& e = c.entry;
  const bool img2img = c.kind() == "pipeline_img2img";
  torch::InferenceMode inference;
  const auto [checkpoint_config, weights, data] = pipeline_files(c);
  const auto options = torch::TensorOptions(torch::kFloat32);

  // Tokens: SD1's 77-id windows, padded with the text encoder's pad id.
  const auto& text_config = checkpoint_config.at("text_encoder");
  const auto tokenizer = dm::ClipTokenizer::from_bpe_gz(dt::fixture_data_path("clip_bpe_gz"));
  const int pad = text_config.at("pad_token_id").get<int>();
  std::vector<std::int64_t> ids;
  for (const auto& text : {e.at("prompt").get<std::string>(), e.at("negative_prompt").get<std::string>()}) {
    for (int id : tokenizer.encode_77(text, pad)) ids.push_back(id);
  }
  const auto input_ids = torch::tensor(ids, torch::kInt64).reshape({2, -1});
  EXPECT_TRUE(torch::equal(input_ids, dm::load_tensor(data, "input_ids"))) << "input_ids";

  // Text embeddings: last_hidden_state, prompt and negative prompt in one batch.
  auto clip = dm::load_clip_text(weights, text_config.at("prefix").get<std::string>(), text_config, options);
  const auto hidden = clip->forward(input_ids).last_hidden_state;
  const auto cond = hidden.slice(0, 0, 1);
  const auto uncond = hidden.slice(0, 1, 2);
  EXPECT_LE(max_abs_diff(uncond, dm::load_tensor(data, "uncond")), c.atol("cond")) << "uncond";

  const auto& unet_config = checkpoint_config.at("unet");
  auto unet = dm::load_unet(weights, unet_config.at("prefix").get<std::string>(), unet_config, options);
  const auto& vae_config = checkpoint_config.at("vae");
  auto vae = dm::load_vae(weights, vae_config.at("prefix").get<std::string>(), vae_config, options);
  const double scale_factor = c.config.at("scale_factor").get<double>();

  const ds::DiscreteSchedule schedule(schedule_config(c));

  const std::string sampler_name = e.at("sampler");
  const std::string scheduler = e.at("scheduler");
  const auto steps = e.at("steps").get<std::int64_t>();
  const double denoise = img2img ? e.at("denoise").get<double>() : 1.0;
  const auto sigmas = ds::sigmas_for_denoise(schedule, scheduler, steps, denoise, sampler_name);
  EXPECT_LE(max_ulps(sigmas, dm::load_tensor(data, "sigmas")), 4.0) << "sigmas";
  if (img2img) {
    const auto total = static_cast<std::int64_t>(static_cast<double>(steps) / denoise);
    EXPECT_LE(max_ulps(ds::compute_sigmas(schedule, scheduler, total), dm::load_tensor(data, "sigmas_full")), 4.0)
        << "sigmas_full";
  }

  ds::GuidanceConfig guidance;
  guidance.cond.context = cond;
  guidance.uncond.context = uncond;
  guidance.scale = e.at("cfg_scale").get<double>();
  guidance.quantize_t = c.config.at("t_quantized").get<bool>();
  const ds::NoiseModel model = [&](const torch::Tensor& x, const torch::Tensor& t, const dm::ModelInputs& inputs) {
    return unet->forward(x, t, inputs);
  };
  const auto denoiser = ds::make_cfg_denoiser(model, schedule, guidance);

  ds::KSamplerRun run;
  run.noise = input(c, "noise");
  run.sigmas = sigmas;
  if (img2img) {
    const auto posterior_mean = vae->encode(input(c, "init_image")).mean;
    EXPECT_LE(max_abs_diff(posterior_mean, dm::load_tensor(data, "posterior_mean")), c.atol("latent"))
        << "posterior_mean";
    run.latent = posterior_mean * scale_factor;
  }
  EXPECT_LE(max_abs_diff(ds::noised_start(run.latent, run.noise, sigmas), dm::load_tensor(data, "x_start")),
            c.atol("latent"))
      << "x_start";
  const auto sampler = ds::make_sampler(sampler_name);
  const auto latent = ds::ksample(*sampler, denoiser, run);

  // CompVis decode_first_stage: (1/scale_factor)·z, decoder, then the image in [0, 1].
  const auto decoded = vae->decode(latent * (1.0 / scale_factor));
  const auto image = torch::clamp((decoded + 1.0) / 2.0, 0.0, 1.0);
  expect_outputs(c, {{"cond", cond}, {"latent", latent}, {"decoded", decoded}, {"image", image}});
}

std::vector<dt::FixtureCase> pipeline_cases() {
  auto cases = dt::fixture_cases("pipeline_txt2img");
  for (auto& c : dt::fixture_cases("pipeline_img2img")) cases.push_back(std::move(c));
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, PipelineFixture, ::testing::ValuesIn(pipeline_cases()), case_name);

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // The references ran on one thread; the tiny models gain nothing from more.
  at::set_num_threads(1);
  return RUN_ALL_TESTS();
}
