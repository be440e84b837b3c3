// The U-Net (SD1 conv projections, SD2 linear projections) against the reference fixtures,
// plus the attention kernel, config parsing/detection and a full-size build on the meta device.
#include <cstdlib>
#include <iostream>
#include <map>
#include <regex>
#include <string>

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "models/attention.hpp"
#include "models/onednn_ops.hpp"
#include "support/case_report.hpp"
#include "support/fixtures.hpp"
#include "models/tensor_io.hpp"
#include "models/sdxl_conditioning.hpp"
#include "models/unet.hpp"

namespace dm = diffgraph::models;
namespace dt = diffgraph::testing;

namespace {

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

double max_abs(const torch::Tensor& a) { return a.abs().max().item<double>(); }

// The model config the case's weights were made with (tiny_sd1/config.json#/unet, …).
nlohmann::json weights_config(const dt::FixtureCase& c) {
  const auto& w = c.entry.at("weights");
  const auto config = dt::read_json_file(dt::FixtureCase::path(w.at("config").get<std::string>()));
  return config.at(nlohmann::json::json_pointer(w.at("config_pointer").get<std::string>()));
}

// Detection from the weights' shapes agrees with the case's model config.
void check_detection(const dt::FixtureCase& c) {
  const auto& w = c.entry.at("weights");
  const auto file = dm::SafetensorsFile::open(dt::FixtureCase::path(w.at("file").get<std::string>()));
  const dm::UNetConfig detected = dm::detect_unet_config(dm::shapes_under(file, w.at("prefix").get<std::string>()));
  const dm::UNetConfig configured = dm::UNetConfig::from_json(weights_config(c));
  // Everything but the heads is visible in the shapes.
  dm::UNetConfig detected_with_heads = detected;
  detected_with_heads.num_heads = configured.num_heads;
  detected_with_heads.num_head_channels = configured.num_head_channels;
  EXPECT_EQ(detected_with_heads, configured)
      << "detected " << detected.to_json().dump() << "\nconfig " << configured.to_json().dump();
  EXPECT_EQ(dm::merge_unet_config(detected, weights_config(c)), configured);
  const std::string variant = c.entry.at("variant");
  EXPECT_EQ(detected.use_linear_in_transformer, variant != "sd1_conv_proj") << variant;
  // SDXL-style U-Nets embed the y vector their calls pass.
  EXPECT_EQ(detected.adm_in_channels > 0, c.entry.at("inputs").contains("y")) << variant;
}

// Every U-Net call of the case, its inter.* block outputs, and the same with prepacked weights.
void check_calls(const dt::FixtureCase& c) {
  const auto& w = c.entry.at("weights");
  const auto weights = dm::SafetensorsFile::open(dt::FixtureCase::path(w.at("file").get<std::string>()));
  const auto data = dm::SafetensorsFile::open(c.file("data"));
  torch::InferenceMode inference;
  dm::UNetModel model = dm::load_unet(weights, w.at("prefix").get<std::string>(), weights_config(c),
                                      torch::TensorOptions(torch::kFloat32));

  auto input = [&](const std::string& name) {
    const std::string role = c.entry.at("inputs").at(name);
    const auto file =
        role == "data" ? dm::SafetensorsFile::open(c.file("data")) : dm::SafetensorsFile::open(c.file(role));
    return dm::load_tensor(file, name);
  };
  // The call's conditioning: its context, and its y vector when it names one (SDXL).
  auto inputs_of = [&](const nlohmann::json& call) {
    dm::ModelInputs inputs;
    inputs.context = input(call.at("context"));
    if (call.contains("y")) inputs.y = input(call.at("y"));
    return inputs;
  };

  const auto& calls = c.entry.at("calls");
  ASSERT_FALSE(calls.empty());
  for (std::size_t i = 0; i < calls.size(); ++i) {
    const auto& call = calls[i];
    const std::string output = call.at("output");
    // The first call also records every block's output for the inter.* diagnostics.
    std::map<std::string, torch::Tensor> trace;
    dm::UNetObserver observer;
    if (i == 0) observer = [&](const std::string& name, const torch::Tensor& t) { trace[name] = t.clone(); };
    const torch::Tensor eps = model->forward(input(call.at("x")), input(call.at("timesteps")), inputs_of(call), observer);
    const torch::Tensor expected = dm::load_tensor(data, output);
    ASSERT_EQ(eps.sizes(), expected.sizes()) << output;
    const double diff = max_abs_diff(eps, expected), atol = c.atol(output);
    EXPECT_LE(diff, atol) << c.id() << " " << output;
    std::cout << "[ " << c.id() << " ] " << output << ": max|diff| " << diff << " (atol " << atol << ")\n";

    // Diagnostics: intermediate block outputs have no tolerance of their own; hold them to the
    // same relative accuracy as eps (1e-5 of their magnitude) to localise a failure.
    std::size_t checked = 0;
    for (const auto& [name, value] : trace) {
      const dm::TensorInfo* info = data.find("inter." + name);
      if (!info) continue;
      const torch::Tensor ref = dm::load_tensor(data, *info);
      ASSERT_EQ(value.sizes(), ref.sizes()) << "inter." << name;
      EXPECT_LE(max_abs_diff(value, ref), 1e-5 * std::max(1.0, max_abs(ref))) << c.id() << " inter." << name;
      ++checked;
    }
    if (i == 0) {
      std::cout << "[ " << c.id() << " ] " << checked << " inter.* block outputs checked\n";
      EXPECT_GT(checked, 0u) << "no inter.* diagnostics found";
    }
  }

  // With prepacked weights (oneDNN's blocked layout, kept between calls) the result is the same,
  // on the first call (packing) and the second (reuse).
  model->set_weight_prepacking(true);
  const auto& call = calls[0];
  const torch::Tensor eps = model->forward(input(call.at("x")), input(call.at("timesteps")), inputs_of(call));
  const std::string output = call.at("output");
  EXPECT_LE(max_abs_diff(eps, dm::load_tensor(data, output)), c.atol(output)) << "with prepacking";
  const torch::Tensor again = model->forward(input(call.at("x")), input(call.at("timesteps")), inputs_of(call));
  EXPECT_LE(max_abs_diff(again, dm::load_tensor(data, output)), c.atol(output)) << "with prepacked weights reused";
}

// The sinusoidal timestep embedding on its own, where the case stores it.
void check_timestep_embedding(const dt::FixtureCase& c) {
  const auto data = dm::SafetensorsFile::open(c.file("data"));
  // A diagnostic some cases carry (the SDXL ones do not); every call exercises the embedding anyway.
  if (data.find("timestep_embedding_t") == nullptr) return;
  const torch::Tensor t = dm::load_tensor(data, "timestep_embedding_t");
  const std::regex dim_name("timestep_embedding_dim([0-9]+)");
  std::size_t checked = 0;
  for (const auto& info : data.tensors()) {
    std::smatch match;
    if (!std::regex_match(info.name, match, dim_name)) continue;
    const torch::Tensor expected = dm::load_tensor(data, info);
    const torch::Tensor mine = dm::timestep_embedding(t, std::stoll(match[1].str()));
    ASSERT_EQ(mine.sizes(), expected.sizes()) << info.name;
    // Same float32 operations as the reference: equal up to a few ulps of 1.
    EXPECT_LE(max_abs_diff(mine, expected), 1e-6) << info.name;
    ++checked;
  }
  EXPECT_GT(checked, 0u);
}

std::vector<dt::FixtureCase> unet_cases() { return dt::fixture_cases("unet"); }

class UNetFixture : public ::testing::TestWithParam<dt::FixtureCase> {};

TEST_P(UNetFixture, MatchesReference) {
  const auto& c = GetParam();
  const dt::CaseReport case_report(c.id());
  {
    SCOPED_TRACE("detection");
    check_detection(c);
  }
  {
    SCOPED_TRACE("calls");
    check_calls(c);
  }
  {
    SCOPED_TRACE("timestep embedding");
    check_timestep_embedding(c);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, UNetFixture, ::testing::ValuesIn(unet_cases()),
                         [](const auto& info) { return dt::case_test_name(info.param.id()); });

// ---- SDXL's y vector (sdxl_adm) ------------------------------------------------------------

class SdxlAdmFixture : public ::testing::TestWithParam<dt::FixtureCase> {};

TEST_P(SdxlAdmFixture, MatchesTheConditioner) {
  const auto& c = GetParam();
  const dt::CaseReport case_report(c.id());
  const auto data = dm::SafetensorsFile::open(c.file("data"));
  const auto in = [&](const std::string& name) {
    return dm::load_tensor(dm::SafetensorsFile::open(c.file(c.entry.at("inputs").at(name).get<std::string>())), name);
  };
  const std::string architecture = c.entry.at("architecture");
  const torch::Tensor y =
      architecture == "sdxl_refiner"
          ? dm::sdxl_refiner_y(in("pooled"), in("original_size_as_tuple"), in("crop_coords_top_left"), in("aesthetic_score"))
          : dm::sdxl_base_y(in("pooled"), in("original_size_as_tuple"), in("crop_coords_top_left"),
                            in("target_size_as_tuple"));
  ASSERT_EQ(y.size(1), c.entry.at("width").get<std::int64_t>());
  const torch::Tensor expected = dm::load_tensor(data, "y");
  ASSERT_EQ(y.sizes(), expected.sizes());
  EXPECT_LE(max_abs_diff(y, expected), c.atol("y"));
  // Diagnostics: each embedded input on its own, as the conditioner's embedders output it.
  std::size_t checked = 0;
  for (const auto& info : data.tensors()) {
    if (!info.name.starts_with("emb.")) continue;
    const torch::Tensor mine = dm::embed_numbers(in(info.name.substr(4)));
    EXPECT_LE(max_abs_diff(mine, dm::load_tensor(data, info)), c.atol("y")) << info.name;
    ++checked;
  }
  std::cout << "[ " << c.id() << " ] y max|diff| " << max_abs_diff(y, expected) << ", " << checked
            << " emb.* diagnostics checked\n";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SdxlAdmFixture, ::testing::ValuesIn(dt::fixture_cases("sdxl_adm")),
                         [](const auto& info) { return dt::case_test_name(info.param.id()); });

TEST(SdxlConditioning, RejectsMisShapedInputs) {
  const auto pooled = torch::randn({2, 8}), pair = torch::ones({2, 2}, torch::kLong);
  EXPECT_EQ(dm::sdxl_base_y(pooled, pair, pair, pair).sizes(), (std::vector<std::int64_t>{2, 8 + 6 * 256}));
  EXPECT_THROW(dm::sdxl_base_y(pooled, torch::ones({2, 3}), pair, pair), std::invalid_argument);
  EXPECT_THROW(dm::sdxl_refiner_y(pooled, pair, pair, torch::ones({3, 1})), std::invalid_argument);
}

// ---- attention -----------------------------------------------------------------------------

torch::Tensor naive_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale,
                              bool causal) {
  auto q64 = q.to(torch::kFloat64), k64 = k.to(torch::kFloat64), v64 = v.to(torch::kFloat64);
  auto scores = torch::matmul(q64, k64.transpose(-1, -2)) * scale;
  if (causal) {
    auto mask = torch::ones({q.size(2), k.size(2)}, torch::kBool).triu(1);
    scores = scores.masked_fill(mask, -std::numeric_limits<double>::infinity());
  }
  return torch::matmul(scores.softmax(-1), v64);
}

TEST(Attention, SlicedEqualsUnsliced) {
  torch::manual_seed(7);
  torch::InferenceMode inference;
  const auto q = torch::randn({2, 3, 50, 8}), k = torch::randn({2, 3, 37, 8}), v = torch::randn({2, 3, 37, 5});
  const auto expected = naive_attention(q, k, v, 0.35, false);
  const auto whole = dm::attention_sliced(q, k, v, 0.35, false, std::int64_t{1} << 30);
  EXPECT_LE(max_abs_diff(whole, expected), 1e-5);
  // 1 row, 7 rows and an uneven split of the 50 queries.
  for (std::int64_t rows : {1, 7, 16}) {
    const auto sliced = dm::attention_sliced(q, k, v, 0.35, false, rows * 37 * 4);
    EXPECT_EQ(sliced.sizes(), expected.sizes());
    EXPECT_LE(max_abs_diff(sliced, whole), 1e-6) << rows << " rows per slice";
  }
  EXPECT_LE(max_abs_diff(dm::attention(q, k, v, 0.35), expected), 1e-5);
}

TEST(Attention, CausalMask) {
  torch::manual_seed(8);
  torch::InferenceMode inference;
  const auto q = torch::randn({2, 2, 77, 16}), k = torch::randn({2, 2, 77, 16}), v = torch::randn({2, 2, 77, 16});
  const auto expected = naive_attention(q, k, v, 0.25, true);
  EXPECT_LE(max_abs_diff(dm::attention(q, k, v, 0.25, true), expected), 1e-5);
  for (std::int64_t rows : {1, 10, 30}) {
    EXPECT_LE(max_abs_diff(dm::attention_sliced(q, k, v, 0.25, true, rows * 77 * 4), expected), 1e-5) << rows;
  }
  // Query 0 sees only key 0.
  const auto out = dm::attention(q, k, v, 0.25, true);
  EXPECT_LE(max_abs_diff(out.select(2, 0), v.select(2, 0)), 1e-6);
  // Changing a later key must not change earlier outputs.
  auto k2 = k.clone();
  k2.select(2, 50).add_(3.0);
  const auto out2 = dm::attention(q, k2, v, 0.25, true);
  EXPECT_EQ(max_abs_diff(out.narrow(2, 0, 50), out2.narrow(2, 0, 50)), 0.0);
  EXPECT_GT(max_abs_diff(out.narrow(2, 50, 27), out2.narrow(2, 50, 27)), 1e-4);
}

TEST(Attention, ReadsStridedHeadsInPlace) {
  torch::manual_seed(9);
  torch::InferenceMode inference;
  // [B,N,H·D] projections viewed as heads, as the U-Net and CLIP pass them.
  const auto x = torch::randn({2, 40, 4 * 6}), c = torch::randn({2, 9, 4 * 6});
  const auto q = x.view({2, 40, 4, 6}).transpose(1, 2), k = c.view({2, 9, 4, 6}).transpose(1, 2);
  const auto v = (c * 2).view({2, 9, 4, 6}).transpose(1, 2);
  const auto out = dm::attention(q, k, v, 0.4);
  EXPECT_LE(max_abs_diff(out, naive_attention(q.contiguous(), k.contiguous(), v.contiguous(), 0.4, false)), 1e-5);
  // Merging the heads back is a view.
  const auto merged = out.transpose(1, 2).reshape({2, 40, 24});
  EXPECT_EQ(merged.sizes(), (std::vector<std::int64_t>{2, 40, 24}));
}

TEST(Attention, LargeProblemsTakeTheSlicedPathWithTheSameResult) {
  torch::manual_seed(10);
  torch::InferenceMode inference;
  // 2 × 2 × 800 × 900 scores = 5.8 MB: above the batched path's 2 MiB, so attention() slices per
  // head; a small problem takes the batched product. Both must match the reference.
  const auto q = torch::randn({2, 2, 800, 8}), k = torch::randn({2, 2, 900, 8}), v = torch::randn({2, 2, 900, 6});
  EXPECT_LE(max_abs_diff(dm::attention(q, k, v, 0.3), naive_attention(q, k, v, 0.3, false)), 1e-5);
  const auto small_q = q.narrow(2, 0, 20), small_k = k.narrow(2, 0, 30), small_v = v.narrow(2, 0, 30);
  EXPECT_LE(max_abs_diff(dm::attention(small_q, small_k, small_v, 0.3), naive_attention(small_q, small_k, small_v, 0.3, false)),
            1e-5);
}

TEST(Attention, RejectsMismatchedShapes) {
  const auto q = torch::randn({1, 2, 5, 4});
  EXPECT_THROW(dm::attention(q, torch::randn({1, 2, 5, 3}), torch::randn({1, 2, 5, 4}), 1.0), std::invalid_argument);
  EXPECT_THROW(dm::attention(q, torch::randn({1, 2, 6, 4}), torch::randn({1, 2, 5, 4}), 1.0), std::invalid_argument);
  EXPECT_THROW(dm::attention(q, torch::randn({1, 2, 6, 4}), torch::randn({1, 2, 6, 4}), 1.0, true),
               std::invalid_argument);
  EXPECT_THROW(dm::attention(q.view({2, 5, 4}), q, q, 1.0), std::invalid_argument);
}

// ---- oneDNN GEMM/convolution routes ------------------------------------------------------

TEST(OneDnnOps, LinearMatchesTorch) {
  torch::manual_seed(10);
  torch::InferenceMode inference;
  // Small and large row counts, a strided view (GEGLU's value half), Linear and 1×1-conv weights.
  const auto wide = torch::randn({2, 300, 192});
  for (const auto& x : {torch::randn({3, 5, 16}), torch::randn({2, 300, 96}), wide.narrow(-1, 0, 96)}) {
    const auto w = torch::randn({40, x.size(-1)}) / 10, b = torch::randn({40});
    const auto expected = torch::linear(x, w, b);
    dm::OneDnnWeightCache cache;
    for (auto* c : {static_cast<dm::OneDnnWeightCache*>(nullptr), &cache, &cache}) {
      const auto y = dm::onednn_linear(x, w, b, c);
      ASSERT_EQ(y.sizes(), expected.sizes());
      EXPECT_LE(max_abs_diff(y, expected), 1e-5 * std::max(1.0, max_abs(expected)));
    }
    EXPECT_LE(max_abs_diff(dm::onednn_linear(x, w.view({40, x.size(-1), 1, 1}), {}), torch::linear(x, w)), 1e-5);
  }
}

TEST(OneDnnOps, ConvMatchesTorch) {
  torch::manual_seed(11);
  torch::InferenceMode inference;
  struct Case {
    std::int64_t batch, cin, cout, size, kernel, stride, padding;
  };
  for (const Case c : {Case{1, 4, 32, 8, 3, 1, 1}, Case{2, 32, 32, 16, 3, 2, 1}, Case{2, 64, 32, 8, 1, 1, 0}}) {
    const auto x = torch::randn({c.batch, c.cin, c.size, c.size});
    const auto w = torch::randn({c.cout, c.cin, c.kernel, c.kernel}) / 10, b = torch::randn({c.cout});
    const auto expected = torch::conv2d(x, w, b, c.stride, c.padding);
    dm::OneDnnWeightCache cache;
    for (auto* p : {static_cast<dm::OneDnnWeightCache*>(nullptr), &cache, &cache}) {
      const auto y = dm::onednn_conv2d(x, w, b, c.stride, c.padding, p);
      ASSERT_EQ(y.sizes(), expected.sizes());
      EXPECT_LE(max_abs_diff(y, expected), 1e-5 * std::max(1.0, max_abs(expected)));
    }
  }
}

TEST(OneDnnOps, PackedWeightFollowsWeightUpdates) {
  torch::manual_seed(12);
  // Parameters are ordinary tensors (made outside inference mode), updated in place by load_weights.
  auto w = torch::randn({16, 32});
  const auto x = torch::randn({4, 64, 32});
  dm::OneDnnWeightCache cache;
  torch::InferenceMode inference;
  const auto before = dm::onednn_linear(x, w, {}, &cache);
  {
    c10::InferenceMode off(false);
    torch::NoGradGuard no_grad;
    w.copy_(torch::randn({16, 32}));
  }
  const auto after = dm::onednn_linear(x, w, {}, &cache);
  EXPECT_LE(max_abs_diff(after, torch::linear(x, w)), 1e-4);
  EXPECT_GT(max_abs_diff(after, before), 1e-2);
  cache.set_enabled(false);
  EXPECT_FALSE(cache.get(w, 1, 0).defined());
  EXPECT_LE(max_abs_diff(dm::onednn_linear(x, w, {}, &cache), after), 1e-5);
}

TEST(OneDnnOps, PacksOnlySmallProblemsAndNeverTrainedWeights) {
  torch::manual_seed(13);
  const auto w = torch::randn({24, 32}) / 10, conv_w = torch::randn({8, 8, 3, 3}) / 10;
  if (!dm::onednn_usable(w)) GTEST_SKIP() << "LibTorch without oneDNN: nothing is packed";
  {
    torch::InferenceMode inference;
    const auto small = torch::randn({2, dm::kPackedLinearMaxRows / 2, 32});
    const auto large = torch::randn({2, dm::kPackedLinearMaxRows, 32});
    dm::OneDnnWeightCache small_cache, large_cache;
    EXPECT_LE(max_abs_diff(dm::onednn_linear(small, w, {}, &small_cache), torch::linear(small, w)), 1e-5);
    EXPECT_LE(max_abs_diff(dm::onednn_linear(large, w, {}, &large_cache), torch::linear(large, w)), 1e-5);
    EXPECT_TRUE(small_cache.holds_packed());
    EXPECT_FALSE(large_cache.holds_packed());

    const auto image_8 = torch::randn({2, 8, 8, 8}), image_16 = torch::randn({2, 8, 16, 16});  // 128 / 512 pixels
    dm::OneDnnWeightCache conv_small, conv_large;
    EXPECT_LE(max_abs_diff(dm::onednn_conv2d(image_8, conv_w, {}, 1, 1, &conv_small), torch::conv2d(image_8, conv_w, {}, 1, 1)), 1e-5);
    EXPECT_LE(max_abs_diff(dm::onednn_conv2d(image_16, conv_w, {}, 1, 1, &conv_large), torch::conv2d(image_16, conv_w, {}, 1, 1)), 1e-5);
    EXPECT_TRUE(conv_small.holds_packed());
    EXPECT_FALSE(conv_large.holds_packed());
  }
  // A weight being trained stays dense, so its gradient is the plain linear's.
  const auto trained = w.clone().requires_grad_(true);
  const auto x = torch::randn({4, 32});
  dm::OneDnnWeightCache cache;
  dm::onednn_linear(x, trained, {}, &cache).square().sum().backward();
  EXPECT_FALSE(cache.holds_packed());
  ASSERT_TRUE(trained.grad().defined());
  const auto reference = w.clone().requires_grad_(true);
  torch::linear(x, reference).square().sum().backward();
  EXPECT_LE(max_abs_diff(trained.grad(), reference.grad()), 1e-4);
}

TEST(OneDnnOps, GradientsMatchTorch) {
  // Training runs backward through these routes: the gradients of input, weight and bias must be
  // the plain ops' (token-major rows as the U-Net's projections see them, and NCHW images).
  torch::manual_seed(14);
  auto check = [](const torch::Tensor& x0, const torch::Tensor& w0, const torch::Tensor& b0, auto route, auto reference) {
    auto x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true), b = b0.clone().requires_grad_(true);
    auto rx = x0.clone().requires_grad_(true), rw = w0.clone().requires_grad_(true), rb = b0.clone().requires_grad_(true);
    const auto probe = torch::randn_like(reference(rx, rw, rb).detach());
    (route(x, w, b) * probe).sum().backward();
    (reference(rx, rw, rb) * probe).sum().backward();
    EXPECT_LE(max_abs_diff(x.grad(), rx.grad()), 1e-4 * std::max(1.0, max_abs(rx.grad())));
    EXPECT_LE(max_abs_diff(w.grad(), rw.grad()), 1e-4 * std::max(1.0, max_abs(rw.grad())));
    EXPECT_LE(max_abs_diff(b.grad(), rb.grad()), 1e-4 * std::max(1.0, max_abs(rb.grad())));
  };
  for (const auto& x : {torch::randn({2, 77, 64}), torch::randn({4, 64, 128}), torch::randn({3, 5, 16})}) {
    const auto w = torch::randn({40, x.size(-1)}) / 10, b = torch::randn({40});
    check(x, w, b, [](auto& x, auto& w, auto& b) { return dm::onednn_linear(x, w, b); },
          [](auto& x, auto& w, auto& b) { return torch::linear(x, w, b); });
  }
  const auto image = torch::randn({2, 16, 8, 8}), kernel = torch::randn({32, 16, 3, 3}) / 10, bias = torch::randn({32});
  check(image, kernel, bias, [](auto& x, auto& w, auto& b) { return dm::onednn_conv2d(x, w, b, 1, 1); },
        [](auto& x, auto& w, auto& b) { return torch::conv2d(x, w, b, 1, 1); });
}

// ---- config --------------------------------------------------------------------------------

TEST(UNetConfig, DiffusersNames) {
  // SD 1.5's diffusers unet/config.json fields.
  const auto sd15 = dm::UNetConfig::from_json(nlohmann::json::parse(R"({
    "_class_name": "UNet2DConditionModel", "in_channels": 4, "out_channels": 4,
    "block_out_channels": [320, 640, 1280, 1280], "layers_per_block": 2, "attention_head_dim": 8,
    "cross_attention_dim": 768, "norm_num_groups": 32,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]})"));
  EXPECT_EQ(sd15, dm::UNetConfig{});
  // SD 2.1: per-level head counts [5,10,20,20] are 64-channel heads.
  const auto sd21 = dm::UNetConfig::from_json(nlohmann::json::parse(R"({
    "block_out_channels": [320, 640, 1280, 1280], "layers_per_block": 2, "attention_head_dim": [5, 10, 20, 20],
    "cross_attention_dim": 1024, "use_linear_projection": true,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]})"));
  EXPECT_EQ(sd21.num_head_channels, 64);
  EXPECT_EQ(sd21.num_heads, -1);
  EXPECT_TRUE(sd21.use_linear_in_transformer);
  EXPECT_EQ(sd21.context_dim, 1024);
  EXPECT_EQ(sd21.attention_resolutions, (std::vector<std::int64_t>{4, 2, 1}));
  EXPECT_EQ(dm::UNetConfig::from_json(sd21.to_json()), sd21);
}

TEST(UNetConfig, SdxlDepthsPerLevelAndTheLabelEmbedding) {
  // sd_xl_base.yaml's network_config params, and the diffusers unet/config.json of the same model.
  const auto sgm = dm::UNetConfig::from_json(nlohmann::json::parse(R"({
    "adm_in_channels": 2816, "num_classes": "sequential", "use_checkpoint": true, "in_channels": 4,
    "out_channels": 4, "model_channels": 320, "attention_resolutions": [4, 2], "num_res_blocks": 2,
    "channel_mult": [1, 2, 4], "num_head_channels": 64, "use_linear_in_transformer": true,
    "transformer_depth": [1, 2, 10], "context_dim": 2048, "spatial_transformer_attn_type": "softmax-xformers"})"));
  EXPECT_EQ(sgm.adm_in_channels, 2816);
  EXPECT_EQ(sgm.depth_at(0), 0);  // no attention at level 0: its listed depth is unused
  EXPECT_EQ(sgm.depth_at(1), 2);
  EXPECT_EQ(sgm.depth_at(2), 10);
  EXPECT_EQ(sgm.depth_middle(), 10);  // sgm: the last entry
  EXPECT_EQ(sgm.transformer_depth_levels, (std::vector<std::int64_t>{0, 2, 10}));
  EXPECT_EQ(dm::UNetConfig::from_json(sgm.to_json()), sgm);
  const auto diffusers = dm::UNetConfig::from_json(nlohmann::json::parse(R"({
    "_class_name": "UNet2DConditionModel", "addition_embed_type": "text_time", "addition_time_embed_dim": 256,
    "attention_head_dim": [5, 10, 20], "block_out_channels": [320, 640, 1280], "cross_attention_dim": 2048,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"], "in_channels": 4,
    "layers_per_block": 2, "out_channels": 4, "projection_class_embeddings_input_dim": 2816,
    "transformer_layers_per_block": [1, 2, 10], "use_linear_projection": true})"));
  EXPECT_EQ(diffusers, sgm) << diffusers.to_json().dump();
  // The refiner's single depth stays a single depth, so it equals a detection's.
  const auto refiner = dm::UNetConfig::from_json(nlohmann::json{{"model_channels", 384},
                                                                {"channel_mult", {1, 2, 4, 4}},
                                                                {"attention_resolutions", {4, 2}},
                                                                {"num_head_channels", 64},
                                                                {"transformer_depth", 4},
                                                                {"context_dim", 1280},
                                                                {"num_classes", "sequential"},
                                                                {"adm_in_channels", 2560}});
  EXPECT_EQ(refiner.transformer_depth, 4);
  EXPECT_TRUE(refiner.transformer_depth_levels.empty());
  // Only "sequential" label embeddings, with their width.
  EXPECT_THROW(dm::UNetConfig::from_json(nlohmann::json{{"num_classes", "sequential"}}), std::invalid_argument);
  EXPECT_THROW(dm::UNetConfig::from_json(nlohmann::json{{"addition_embed_type", "image"}}), std::invalid_argument);
}

TEST(UNetConfig, RejectsBadFields) {
  EXPECT_THROW(dm::UNetConfig::from_json(nlohmann::json{{"model_channels", "wide"}}), std::invalid_argument);
  EXPECT_THROW(dm::UNetConfig::from_json(nlohmann::json{{"num_classes", 1000}}), std::invalid_argument);
  EXPECT_THROW(dm::UNetConfig::from_json(nlohmann::json{{"transformer_depth", {1, 2, 10}}}), std::invalid_argument);
  EXPECT_THROW(dm::UNetConfig::from_json(nlohmann::json{{"num_heads", 7}}).validate(), std::invalid_argument);
  try {
    dm::UNetConfig::from_json(nlohmann::json{{"channel_mult", 3}});
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("channel_mult"), std::string::npos) << e.what();
  }
}

// The full-size U-Net of every manifest (SD1.5, SD2.1, SDXL base and refiner), built on the meta
// device, holds exactly the manifest's U-Net keys and shapes. The manifest cases themselves (all
// their components) are checked and reported by test_clip_vae_fixture's manifest test.
TEST(UNetManifest, FullSizeModelsMatchKeyLists) {
  std::vector<dt::FixtureCase> manifests;
  for (auto& c : dt::fixture_cases("")) {
    if (c.kind() == "manifest") manifests.push_back(std::move(c));
  }
  for (const auto& c : manifests) {
    dm::ShapeMap shapes;
    const std::string prefix = "model.diffusion_model.";
    for (const auto& t : c.config.at("tensors")) {
      const std::string key = t.at("key");
      if (t.at("group") == "unet" && key.starts_with(prefix))
        shapes[key.substr(prefix.size())] = t.at("shape").get<std::vector<std::int64_t>>();
    }
    ASSERT_FALSE(shapes.empty()) << c.id();
    const dm::UNetConfig detected = dm::detect_unet_config(shapes);
    EXPECT_EQ(detected, dm::UNetConfig::from_json(c.config.at("unet_config")))
        << c.id() << ": " << detected.to_json().dump();
    dm::UNetModel model(detected, torch::TensorOptions().device(torch::kMeta));
    const auto report = dm::check_weights(*model, shapes);
    EXPECT_TRUE(report.ok()) << dm::describe_weights_report(report, c.id(), prefix);
    EXPECT_EQ(static_cast<std::int64_t>(model->parameters().size()),
              c.config.at("required_counts").at("unet").at("tensors").get<std::int64_t>());
    std::int64_t elements = 0;
    for (const auto& p : model->parameters()) elements += p.numel();
    EXPECT_EQ(elements, c.config.at("required_counts").at("unet").at("elements").get<std::int64_t>()) << c.id();
    std::cout << "[ " << c.id() << " ] full-size U-Net: " << model->parameters().size() << " tensors, " << elements
              << " parameters, as listed\n";
  }
}

TEST(UNetModel, RejectsMismatchedInputs) {
  dm::UNetConfig config = dm::UNetConfig::from_json(nlohmann::json{{"model_channels", 32},
                                                                   {"channel_mult", {1, 2}},
                                                                   {"num_res_blocks", 1},
                                                                   {"attention_resolutions", {2}},
                                                                   {"num_heads", 2},
                                                                   {"context_dim", 16}});
  torch::InferenceMode inference;
  dm::UNetModel model(config, torch::TensorOptions(torch::kFloat32));
  for (auto& p : model->parameters()) p.normal_(0, 0.05);
  const auto x = torch::randn({2, 4, 8, 8}), t = torch::tensor({10, 20}), ctx = torch::randn({2, 5, 16});
  EXPECT_EQ(model->forward(x, t, ctx).sizes(), x.sizes());
  EXPECT_EQ(model->forward(x, torch::tensor(3.5), ctx).sizes(), x.sizes());  // one t for the batch
  EXPECT_THROW(model->forward(x, t, torch::randn({2, 5, 8})), std::invalid_argument);
  EXPECT_THROW(model->forward(torch::randn({2, 4, 7, 8}), t, ctx), std::invalid_argument);
  EXPECT_THROW(model->forward(x, torch::tensor({1, 2, 3}), ctx), std::invalid_argument);
}

TEST(UNetModel, ConcatInputsAreExtraChannelsAndYNeedsALabelEmbedding) {
  // An inpainting-style U-Net: 6 input channels = 4 of x + 2 concatenated from ModelInputs.
  dm::UNetConfig config = dm::UNetConfig::from_json(nlohmann::json{{"in_channels", 6},
                                                                   {"model_channels", 32},
                                                                   {"channel_mult", {1, 2}},
                                                                   {"num_res_blocks", 1},
                                                                   {"attention_resolutions", {2}},
                                                                   {"num_heads", 2},
                                                                   {"context_dim", 16}});
  torch::manual_seed(21);
  torch::InferenceMode inference;
  dm::UNetModel model(config, torch::TensorOptions(torch::kFloat32));
  for (auto& p : model->parameters()) p.normal_(0, 0.05);
  const auto x = torch::randn({2, 4, 8, 8}), extra = torch::randn({2, 2, 8, 8});
  const auto t = torch::tensor({10, 20});
  dm::ModelInputs inputs;
  inputs.context = torch::randn({2, 5, 16});
  inputs.concat = extra;
  const auto bundled = model->forward(x, t, inputs);
  EXPECT_TRUE(torch::equal(bundled, model->forward(torch::cat({x, extra}, 1), t, inputs.context)));
  EXPECT_GT(max_abs_diff(bundled, model->forward(x, t, [&] {
              auto other = inputs;
              other.concat = torch::zeros_like(extra);
              return other;
            }())),
            1e-4);
  // Without the concat the channels do not add up; a concat of another size is refused; this
  // U-Net has no label_emb, so a y vector is refused rather than ignored.
  EXPECT_THROW(model->forward(x, t, inputs.context), std::invalid_argument);
  auto wrong_size = inputs;
  wrong_size.concat = torch::randn({2, 2, 4, 4});
  EXPECT_THROW(model->forward(x, t, wrong_size), std::invalid_argument);
  auto with_y = inputs;
  with_y.y = torch::randn({2, 8});
  try {
    model->forward(x, t, with_y);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("label_emb"), std::string::npos) << e.what();
  }
  auto without_context = inputs;
  without_context.context = torch::Tensor();
  EXPECT_THROW(model->forward(x, t, without_context), std::invalid_argument);
}

TEST(UNetModel, LoadRejectsWrongPrefix) {
  const auto cases = unet_cases();
  ASSERT_FALSE(cases.empty()) << "no handled unet case in the fixtures";
  const auto& c = cases.front();
  const auto& w = c.entry.at("weights");
  const auto file = dm::SafetensorsFile::open(dt::FixtureCase::path(w.at("file").get<std::string>()));
  EXPECT_THROW(dm::load_unet(file, "model.nothing_here.", std::nullopt, {}), std::invalid_argument);
  // A config contradicting the shapes (twice the case's channels) is caught by the loader,
  // which names the keys.
  nlohmann::json contradicting = weights_config(c);
  contradicting["model_channels"] = 2 * contradicting.at("model_channels").get<std::int64_t>();
  try {
    dm::load_unet(file, w.at("prefix").get<std::string>(), contradicting, torch::TensorOptions(torch::kFloat32));
    FAIL() << "no exception";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("input_blocks.0.0.weight"), std::string::npos) << e.what();
  }
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  at::set_num_threads(2);
  return RUN_ALL_TESTS();
}
