// test_clip_vae_fixture.cpp — the CLIP text encoder, the KL-VAE and checkpoint detection
// against every handled `clip_text`, `vae`, `checkpoint` and `manifest` case of the fixtures
// (one `fixture <id>: ok|FAIL` line each).
//
// Sizes, prefixes, tolerances and configs all come from the cases; the manifests are checked
// by building the full-size models on the meta device (no memory) and matching their
// parameters against the manifest's keys and shapes.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "models/checkpoint.hpp"
#include "models/clip_text_model.hpp"
#include "support/case_report.hpp"
#include "support/fixtures.hpp"
#include "models/tensor_io.hpp"
#include "models/unet.hpp"
#include "models/vae.hpp"
#include "models/weights.hpp"

namespace {

using namespace diffgraph::models;
using diffgraph::testing::FixtureCase;
using nlohmann::json;

json at_pointer(const json& document, const json& pointer) {
  return document.at(json::json_pointer(pointer.get<std::string>()));
}

/// The case's weights: file, prefix and model config (`weights` entry).
struct CaseWeights {
  SafetensorsFile file;
  std::string prefix;
  json config;
};

CaseWeights case_weights(const FixtureCase& fixture) {
  const json& weights = fixture.entry.at("weights");
  const json config_file = diffgraph::testing::read_json_file(FixtureCase::path(weights.at("config").get<std::string>()));
  return {SafetensorsFile::open(FixtureCase::path(weights.at("file").get<std::string>())),
          weights.at("prefix").get<std::string>(), diffgraph::testing::fixture_model_config(at_pointer(config_file, weights.at("config_pointer")))};
}

/// The inspected text encoder a fixture component or manifest group names: `text_encoder` and
/// SDXL's `text_encoder_l` are CheckpointInfo::text_encoder, `text_encoder_g` its CLIP-G tower.
std::optional<ComponentInfo<ClipTextConfig>>* text_encoder_named(CheckpointInfo& info, const std::string& name) {
  if (name == "text_encoder" || name == "text_encoder_l") return &info.text_encoder;
  if (name == "text_encoder_g") return &info.text_encoder_g;
  return nullptr;
}

/// Inputs by name, each from the file of its role.
std::map<std::string, torch::Tensor> case_inputs(const FixtureCase& fixture) {
  std::map<std::string, torch::Tensor> inputs;
  for (const auto& [name, role] : fixture.entry.at("inputs").items()) {
    const auto file = SafetensorsFile::open(fixture.file(role.get<std::string>()));
    inputs[name] = load_tensor(file, name);
  }
  return inputs;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

/// Compares every expected output the case lists with `actual[name]`.
void expect_outputs(const FixtureCase& fixture, const SafetensorsFile& data,
                    const std::map<std::string, torch::Tensor>& actual) {
  ASSERT_FALSE(fixture.outputs().empty());
  for (const auto& name : fixture.outputs()) {
    SCOPED_TRACE(fixture.id() + " output " + name);
    const auto found = actual.find(name);
    if (found == actual.end()) {
      ADD_FAILURE() << "the test computes no output named '" << name << "'";
      continue;
    }
    const torch::Tensor expected = load_tensor(data, name);
    ASSERT_EQ(found->second.sizes(), expected.sizes());
    const double atol = fixture.atol(name);
    const double error = max_abs_diff(found->second, expected);
    EXPECT_LE(error, atol) << "max |diff| " << error << " > atol " << atol;
  }
}

std::vector<FixtureCase> cases_of(const char* kind) { return diffgraph::testing::fixture_cases(kind); }

std::string case_name(const ::testing::TestParamInfo<FixtureCase>& info) {
  return diffgraph::testing::case_test_name(info.param.id());
}

// --- clip_text --------------------------------------------------------------------------------

class ClipTextFixture : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(ClipTextFixture, MatchesReference) {
  const FixtureCase& fixture = GetParam();
  const diffgraph::testing::CaseReport case_report(fixture.id());
  const CaseWeights weights = case_weights(fixture);
  ClipTextModel model = load_clip_text(weights.file, weights.prefix, weights.config);
  EXPECT_EQ(model->config, ClipTextConfig::from_json(weights.config, detect_clip_text_config(
                                                                         shapes_under(weights.file, weights.prefix))));

  const auto inputs = case_inputs(fixture);
  const torch::Tensor ids = inputs.at("input_ids");
  torch::NoGradGuard no_grad;
  const ClipTextOutput out = model->forward(ids, /*clip_skip=*/1, /*keep_hidden_states=*/true);
  const ClipTextOutput skip2 = model->forward(ids, /*clip_skip=*/2);
  EXPECT_TRUE(torch::equal(out.hidden, out.last_hidden_state));
  ASSERT_EQ(out.hidden_states.size(), static_cast<std::size_t>(model->config.layers + 1));

  // clip_l (SD1, README §3): "penultimate" is clip skip 2 with the final LayerNorm, "pooled" the
  // EOS row. open_clip_g (SDXL's CLIP-G, §12.4): "penultimate" is the output of layer L-2 without
  // the final LayerNorm (the U-Net context), "pooled" the EOS row projected by text_projection.
  const bool open_clip_g = fixture.entry.at("variant") == "open_clip_g";
  const auto layers = static_cast<std::size_t>(model->config.layers);
  expect_outputs(fixture, SafetensorsFile::open(fixture.file("data")),
                 {{"last_hidden_state", out.last_hidden_state},
                  {"penultimate", open_clip_g ? out.hidden_states.at(layers - 1) : skip2.hidden},
                  {"pooled", open_clip_g ? out.pooled_projected : out.pooled},
                  {"hidden_states", torch::stack(out.hidden_states)}});
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ClipTextFixture, ::testing::ValuesIn(cases_of("clip_text")), case_name);

// --- vae --------------------------------------------------------------------------------------

class VaeFixture : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(VaeFixture, MatchesReference) {
  const FixtureCase& fixture = GetParam();
  const diffgraph::testing::CaseReport case_report(fixture.id());
  const CaseWeights weights = case_weights(fixture);
  AutoencoderKL model = load_vae(weights.file, weights.prefix, weights.config);

  const auto inputs = case_inputs(fixture);
  torch::NoGradGuard no_grad;
  const torch::Tensor moments = model->encode_moments(inputs.at("image"));
  const DiagonalGaussian posterior = model->encode(inputs.at("image"));
  const torch::Tensor noise = inputs.at("sample_noise");
  const torch::Tensor sample = posterior.sample(noise);
  const torch::Tensor decoded = model->decode(inputs.at("z"));

  const auto data = SafetensorsFile::open(fixture.file("data"));
  expect_outputs(fixture, data,
                 {{"moments", moments},
                  {"mean", posterior.mean},
                  {"logvar", posterior.logvar},
                  {"std", posterior.std()},
                  {"decoded", decoded}});

  // `sample` is a diagnostic without a tolerance of its own: mean + std·noise, so its error is
  // bounded by the mean's plus the std's scaled by the largest noise value.
  if (data.find("sample")) {
    const double atol = fixture.atol("mean") + fixture.atol("std") * noise.abs().max().item<double>();
    EXPECT_LE(max_abs_diff(sample, load_tensor(data, "sample")), atol);
  }
  // The clamp limits are exercised by this fixture (logvar channels straddle them).
  EXPECT_LE(posterior.logvar.max().item<double>(), 20.0);
  EXPECT_GE(posterior.logvar.min().item<double>(), -30.0);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, VaeFixture, ::testing::ValuesIn(cases_of("vae")), case_name);

// --- checkpoint -------------------------------------------------------------------------------

class CheckpointFixture : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(CheckpointFixture, DetectsEveryComponent) {
  const FixtureCase& fixture = GetParam();
  const diffgraph::testing::CaseReport case_report(fixture.id());
  CheckpointInfo info = inspect_checkpoint(fixture.file("data"));
  const auto file = SafetensorsFile::open(fixture.file("data"));
  EXPECT_EQ(info.tensor_count, file.tensors().size());
  std::cout << describe(info);

  const json& components = fixture.entry.at("components");
  ASSERT_FALSE(components.empty());
  for (const auto& [name, component] : components.items()) {
    SCOPED_TRACE(fixture.id() + " component " + name);
    const json expected_json = diffgraph::testing::fixture_model_config(at_pointer(fixture.config, component.at("config_pointer")));
    const std::string prefix = component.at("prefix");
    // Heads cannot be seen in shapes: detection must get every other field, and the case's
    // config merged over detection must give exactly the case's config.
    if (auto* text = text_encoder_named(info, name)) {
      ASSERT_TRUE(text->has_value());
      EXPECT_EQ((*text)->prefix, prefix);
      const ClipTextConfig expected = ClipTextConfig::from_json(expected_json);
      ClipTextConfig detected = (*text)->config;
      detected.heads = expected.heads;
      EXPECT_EQ(detected, expected) << detected.to_json().dump() << "\n vs " << expected.to_json().dump();
      (*text)->config = ClipTextConfig::from_json(expected_json, (*text)->config);
      EXPECT_EQ((*text)->config, expected);
      EXPECT_NO_THROW(load_clip_text(**text));
    } else if (name == "unet") {
      ASSERT_TRUE(info.unet.has_value());
      EXPECT_EQ(info.unet->prefix, prefix);
      const UNetConfig expected = UNetConfig::from_json(expected_json);
      UNetConfig detected = info.unet->config;
      detected.num_heads = expected.num_heads;
      detected.num_head_channels = expected.num_head_channels;
      EXPECT_EQ(detected, expected) << detected.to_json().dump() << "\n vs " << expected.to_json().dump();
      info.unet->config = merge_unet_config(info.unet->config, expected_json);
      EXPECT_EQ(info.unet->config, expected);
      EXPECT_NO_THROW(load_unet(info));
    } else if (name == "vae") {
      ASSERT_TRUE(info.vae.has_value());
      EXPECT_EQ(info.vae->prefix, prefix);
      const VaeConfig expected = VaeConfig::from_json(expected_json);
      EXPECT_EQ(info.vae->config, expected) << info.vae->config.to_json().dump() << "\n vs "
                                            << expected.to_json().dump();
      EXPECT_NO_THROW(load_vae(info));
    } else {
      ADD_FAILURE() << "unknown component '" << name << "'";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CheckpointFixture, ::testing::ValuesIn(cases_of("checkpoint")), case_name);

// --- manifest ---------------------------------------------------------------------------------

class ManifestFixture : public ::testing::TestWithParam<FixtureCase> {};

std::int64_t elements(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

TEST_P(ManifestFixture, FullSizeModelsMatchTheKeyList) {
  const FixtureCase& fixture = GetParam();
  const diffgraph::testing::CaseReport case_report(fixture.id());
  const json& manifest = fixture.config;
  ShapeMap all;
  std::map<std::string, ShapeMap> required, optional;
  for (const auto& tensor : manifest.at("tensors")) {
    const std::string key = tensor.at("key");
    const auto shape = tensor.at("shape").get<std::vector<std::int64_t>>();
    all[key] = shape;
    (tensor.at("optional").get<bool>() ? optional : required)[tensor.at("group")][key] = shape;
  }
  const CheckpointInfo info = inspect_shapes(all, {}, fixture.file("data"));
  std::cout << describe(info);
  // The manifests' names for what inspection calls the architecture.
  const std::map<std::string, std::string> architectures = {
      {"sd15", "sd1"}, {"sd21", "sd2"}, {"sdxl_base", "sdxl"}, {"sdxl_refiner", "sdxl_refiner"}};
  const std::string architecture = fixture.entry.at("architecture");
  ASSERT_TRUE(architectures.count(architecture)) << architecture;
  EXPECT_EQ(info.architecture, architectures.at(architecture));
  CheckpointInfo inspected = info;

  const auto meta = torch::TensorOptions().device(torch::kMeta).dtype(torch::kFloat32);
  const json& counts = manifest.at("required_counts");
  ASSERT_FALSE(counts.empty());
  for (const auto& [group, count] : counts.items()) {
    SCOPED_TRACE(fixture.id() + " group " + group);
    std::shared_ptr<torch::nn::Module> model;
    std::string prefix;
    LoadWeightsOptions options;
    if (const auto* text = text_encoder_named(inspected, group)) {
      ASSERT_TRUE(text->has_value());
      prefix = (*text)->prefix;
      model = ClipTextModel((*text)->config, meta).ptr();
      options = clip_text_weight_options((*text)->config);
    } else if (group == "unet") {
      ASSERT_TRUE(info.unet.has_value());
      prefix = info.unet->prefix;
      model = UNetModel(info.unet->config, meta).ptr();
    } else if (group == "vae") {
      ASSERT_TRUE(info.vae.has_value());
      prefix = info.vae->prefix;
      model = AutoencoderKL(info.vae->config, meta).ptr();
      options = vae_weight_options();
    } else {
      ADD_FAILURE() << "no model for required group '" << group << "'";
      continue;
    }

    ShapeMap shapes;
    for (const auto& [key, shape] : required[group]) {
      ASSERT_TRUE(key.starts_with(prefix)) << key << " is outside the detected prefix '" << prefix << "'";
      shapes[key.substr(prefix.size())] = shape;
    }
    const WeightsReport report = check_weights(*model, shapes, options);
    EXPECT_TRUE(report.ok()) << describe_weights_report(report, fixture.id(), prefix);
    // Every required key fills a parameter, except those the loader deliberately skips
    // (logit_scale of the OpenCLIP tower), which are listed here.
    for (const auto& key : report.ignored) std::cout << "  [" << group << "] not used by inference: " << prefix << key << "\n";
    EXPECT_EQ(report.used.size() + report.ignored.size(), count.at("tensors").get<std::size_t>());
    std::int64_t parameter_elements = 0;
    for (const auto& parameter : model->parameters()) parameter_elements += parameter.numel();
    std::int64_t ignored_elements = 0;
    for (const auto& key : report.ignored) ignored_elements += elements(shapes.at(key));
    EXPECT_EQ(parameter_elements + ignored_elements, count.at("elements").get<std::int64_t>());

    // The optional tensors of the group (position_ids) are tolerated.
    ShapeMap with_optional = shapes;
    for (const auto& [key, shape] : optional[group]) with_optional[key.substr(prefix.size())] = shape;
    const WeightsReport tolerant = check_weights(*model, with_optional, options);
    EXPECT_TRUE(tolerant.ok()) << describe_weights_report(tolerant, fixture.id(), prefix);
  }
  // The optional non-model groups (schedule buffers, EMA) are recognised, not loaded.
  for (const auto& [group, shapes] : optional) {
    if (group == "schedule") EXPECT_EQ(info.other_tensors.at("schedule"), shapes.size());
    if (group == "ema") EXPECT_EQ(info.other_tensors.at("ema"), shapes.size());
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ManifestFixture, ::testing::ValuesIn(cases_of("manifest")), case_name);

}  // namespace
