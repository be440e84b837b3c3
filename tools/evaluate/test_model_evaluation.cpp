// The evaluation of issue #6 at CI size.
//  * ShapesModelEvaluation (ctest shapes_model_evaluation_tests): the shipped default model,
//    models/diffgraph-shapes.safetensors, meets the acceptance thresholds on 16 prompts at CFG 5
//    (20 Euler steps) and its VAE reconstructs 16 held-out pictures at >= 25 dB.
//  * EvaluatorFixture (ctest shapes_evaluation_fixture_tests): the evaluator's plumbing and its
//    command line on the tiny random SD1 checkpoint of the fixtures (the numbers are at chance).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "evaluation.hpp"
#include "support/fixtures.hpp"

namespace fs = std::filesystem;
using namespace diffgraph;

namespace {

const fs::path kShippedModel = "models/diffgraph-shapes.safetensors";

class ThreadSetup : public ::testing::Environment {
 public:
  void SetUp() override { at::set_num_threads(2); }
};
const auto* const thread_setup = ::testing::AddGlobalTestEnvironment(new ThreadSetup);

TEST(ShapesModelEvaluation, MeetsTheAcceptanceThresholdsOn16Prompts) {
  ASSERT_TRUE(fs::exists(kShippedModel))
      << kShippedModel << " is missing (run from the source root): train the embedded default model with "
                          "diffgraph-train (tools/train, issue #6) and place it there.";
  const evaluate::ShapesModel model = evaluate::load_model(kShippedModel);
  const auto prompts = evaluate::make_prompts(16, 0);
  const evaluate::SamplingSettings settings;  // Euler, 20 steps
  const auto pictures = evaluate::generate(model, prompts, evaluate::encode_captions(model, prompts), 5.0, settings);
  const evaluate::Adherence cfg5 = evaluate::score(prompts, pictures, 5.0);
  std::printf("%s", evaluate::format_table({&cfg5, 1}).c_str());

  // The thresholds for 64 prompts, scaled to 16: at most round((1 - p)·n) misses.
  EXPECT_TRUE(cfg5.background.meets(0.95)) << cfg5.background.correct << "/" << cfg5.background.total;
  EXPECT_TRUE(cfg5.colour.meets(0.95)) << cfg5.colour.correct << "/" << cfg5.colour.total;
  EXPECT_TRUE(cfg5.position.meets(0.90)) << cfg5.position.correct << "/" << cfg5.position.total;
  EXPECT_TRUE(cfg5.type_large.meets(0.80)) << cfg5.type_large.correct << "/" << cfg5.type_large.total;
  EXPECT_GT(cfg5.position.total, 0);
  EXPECT_GT(cfg5.type_large.total, 0);

  const double psnr = evaluate::vae_psnr(model, 16, 0x9E3779B97F4A7C15ULL, settings.side);
  std::printf("VAE PSNR %.2f dB\n", psnr);
  EXPECT_GE(psnr, 25.0);
}

fs::path tiny_checkpoint() { return diffgraph::testing::FixtureCase::path("tiny_sd1/model.safetensors"); }

TEST(EvaluatorFixture, SamplesScoresAndWritesAGridOnTheTinyCheckpoint) {
  const evaluate::ShapesModel model = evaluate::load_model(tiny_checkpoint());
  const auto prompts = evaluate::make_prompts(6, 3);
  ASSERT_EQ(prompts.size(), 6u);
  for (std::size_t i = 0; i < prompts.size(); i += 2) {
    EXPECT_TRUE(prompts[i].scene.size_stated && prompts[i].scene.position_stated) << prompts[i].caption;
  }
  evaluate::SamplingSettings settings;
  settings.steps = 3;
  settings.batch_size = 4;  // two batches, the second one short
  settings.side = 32;
  const auto contexts = evaluate::encode_captions(model, prompts);
  ASSERT_EQ(contexts.size(0), 6);
  const auto at1 = evaluate::generate(model, prompts, contexts, 1.0, settings);
  const auto at5 = evaluate::generate(model, prompts, contexts, 5.0, settings);
  ASSERT_EQ(at5.sizes(), (std::vector<std::int64_t>{6, 32, 32, 3}));
  EXPECT_EQ(at5.scalar_type(), torch::kUInt8);
  EXPECT_FALSE(torch::equal(at1, at5)) << "the guidance scale changes the pictures";

  // A prompt's picture depends on its own caption and noise only, not on its batch.
  settings.batch_size = 1;
  EXPECT_TRUE(torch::equal(evaluate::generate(model, {prompts.data() + 5, 1}, contexts.narrow(0, 5, 1), 5.0, settings),
                           at5.narrow(0, 5, 1)));

  const evaluate::Adherence a = evaluate::score(prompts, at5, 5.0);
  EXPECT_EQ(a.background.total, 6);
  EXPECT_EQ(a.colour.total, 6);
  EXPECT_EQ(a.type_large.total + a.type_small.total, 6);
  EXPECT_GE(a.position.total, 3);
  EXPECT_GE(a.size.total, 3);
  EXPECT_NE(evaluate::format_table({&a, 1}).find("background"), std::string::npos);

  const double psnr = evaluate::vae_psnr(model, 3, 1, 32);
  EXPECT_TRUE(std::isfinite(psnr));
  EXPECT_GT(psnr, 0.0);

  const fs::path grid = fs::temp_directory_path() / ("diffgraph_evaluate_grid_" + std::to_string(::getpid()) + ".png");
  const std::vector<torch::Tensor> batches = {at1, at5};
  const std::vector<double> cfgs = {1.0, 5.0};
  evaluate::write_grid(grid, batches, cfgs, prompts, 4);
  std::ifstream png(grid, std::ios::binary);
  std::string header(24, '\0');
  png.read(header.data(), 24);
  const auto be32 = [&](int at) {
    return (std::uint32_t(std::uint8_t(header[at])) << 24) | (std::uint32_t(std::uint8_t(header[at + 1])) << 16) |
           (std::uint32_t(std::uint8_t(header[at + 2])) << 8) | std::uint32_t(std::uint8_t(header[at + 3]));
  };
  EXPECT_EQ(header.substr(1, 3), "PNG");
  EXPECT_EQ(be32(16), 4u * 32);  // IHDR width: 4 columns
  EXPECT_EQ(be32(20), 2u * 32);  // height: 2 guidance scales
  fs::remove(grid);
}

TEST(EvaluatorFixture, CaptionSensitivityTableOnTheTinyCheckpoint) {
  const evaluate::ShapesModel model = evaluate::load_model(tiny_checkpoint());
  const std::vector<int> timesteps = {999, 500};
  const auto rows = evaluate::caption_sensitivity(model, 3, 5, timesteps, 32);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].timestep, 999);
  for (const auto& r : rows)
    for (double e : {r.right, r.wrong_position, r.wrong_colour, r.wrong_shape, r.wrong_background, r.empty}) {
      EXPECT_TRUE(std::isfinite(e) && e > 0) << "t " << r.timestep;
    }
  // The same seed gives the same numbers; the text encoder sees different captions.
  const auto again = evaluate::caption_sensitivity(model, 3, 5, timesteps, 32);
  EXPECT_EQ(again[1].right, rows[1].right);
  EXPECT_NE(rows[1].right, rows[1].empty);
  EXPECT_NE(evaluate::format_sensitivity(rows).find("position changed"), std::string::npos);
  const std::vector<int> outside = {1000};
  EXPECT_THROW(evaluate::caption_sensitivity(model, 3, 5, outside, 32), std::invalid_argument);
}

TEST(EvaluatorFixture, CaptionSensitivityShowsTheShippedModelReadsItsCaption) {
  const fs::path shipped = fs::path("models") / "diffgraph-shapes.safetensors";
  ASSERT_TRUE(fs::exists(shipped)) << shipped << " is missing";
  const evaluate::ShapesModel model = evaluate::load_model(shipped);
  const std::vector<int> timesteps = {500};
  const auto r = evaluate::caption_sensitivity(model, 16, 2, timesteps, 64).at(0);
  // Without its caption, or told another background, the model predicts the noise worse.
  EXPECT_GT(r.empty, 1.2 * r.right);
  EXPECT_GT(r.wrong_background, 1.05 * r.right);
}

TEST(EvaluatorFixture, ScoresRenderedGroundTruthPerfectly) {
  const auto prompts = evaluate::make_prompts(40, 9);
  auto pictures = torch::empty({40, 64, 64, 3}, torch::kUInt8);
  for (std::size_t i = 0; i < prompts.size(); ++i)
    shapes::render(prompts[i].scene, 64, {pictures[static_cast<std::int64_t>(i)].data_ptr<std::uint8_t>(), 64 * 64 * 3});
  const evaluate::Adherence a = evaluate::score(prompts, pictures, 0.0);
  for (const evaluate::Tally* t : {&a.background, &a.colour, &a.position, &a.type_large, &a.type_small, &a.size}) {
    EXPECT_EQ(t->correct, t->total);
  }
  EXPECT_TRUE((evaluate::Tally{15, 16}.meets(0.95)));
  EXPECT_FALSE((evaluate::Tally{14, 16}.meets(0.95)));
  EXPECT_TRUE((evaluate::Tally{6, 8}.meets(0.80)));
  EXPECT_FALSE((evaluate::Tally{5, 8}.meets(0.80)));
}

TEST(EvaluatorFixture, CommandLinePrintsTheTableAndWritesJson) {
  const fs::path json_file = fs::temp_directory_path() / ("diffgraph_evaluate_" + std::to_string(::getpid()) + ".json");
  const std::string command = std::string(DIFFGRAPH_EVALUATE_EXE) + " " + tiny_checkpoint().string() +
                              " --prompts 2 --steps 2 --cfg 1,4 --side 32 --vae-psnr 2 --threads 2 --json " +
                              json_file.string() + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  ASSERT_EQ(::pclose(pipe), 0) << output;
  EXPECT_NE(output.find("type (large)"), std::string::npos) << output;
  EXPECT_NE(output.find("VAE reconstruction PSNR"), std::string::npos) << output;

  const auto report = nlohmann::json::parse(std::ifstream(json_file));
  ASSERT_EQ(report.at("rows").size(), 2u);
  EXPECT_EQ(report["rows"][1]["cfg"], 4.0);
  EXPECT_EQ(report["rows"][0]["background"]["total"], 2);
  EXPECT_TRUE(report.contains("vae_psnr_db"));
  fs::remove(json_file);

  // A missing checkpoint is a clear error, not a crash.
  pipe = ::popen((std::string(DIFFGRAPH_EVALUATE_EXE) + " /nonexistent/model.safetensors 2>&1").c_str(), "r");
  output.clear();
  while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  EXPECT_NE(::pclose(pipe), 0);
  EXPECT_NE(output.find("/nonexistent/model.safetensors"), std::string::npos) << output;
}

}  // namespace
