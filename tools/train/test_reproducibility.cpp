// The trainer is reproducible: two tiny runs with the same seed give the same loss curve; a run
// stopped mid-way (in stage 2) and resumed from its checkpoint continues that curve exactly; the
// written model loads through the ordinary checkpoint loader with the config from its metadata.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "models/checkpoint.hpp"
#include "models/safetensors.hpp"
#include "models/tensor_io.hpp"

namespace fs = std::filesystem;
namespace models = diffgraph::models;

namespace {

constexpr int kVaeSteps = 12, kDiffusionSteps = 14;

struct TrainRun {
  fs::path dir;
  std::vector<std::string> losses;
};

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("diffgraph-train-test-" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<std::string> read_lines(const fs::path& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

int train(const fs::path& dir, const std::string& extra) {
  std::ostringstream command;
  command << DIFFGRAPH_TRAIN_EXE << " --preset tiny --seed 7 --threads 2 --vae-steps " << kVaeSteps
          << " --diffusion-steps " << kDiffusionSteps << " --vae-batch 4 --batch 4 --warmup 3 --heldout 16"
          << " --grid-steps 2 --checkpoint-dir " << dir / "ckpt" << " --checkpoint-every 5"
          << " --loss-log " << dir / "loss.txt" << " -o " << dir / "model.safetensors" << " --samples "
          << dir / "grid.png" << " " << extra << " 2> " << dir / "stderr.txt";
  // The text encoder's pretraining only where a test asks for it (its own test below).
  if (extra.find("--text-steps") == std::string::npos) command << " --text-steps 0";
  return std::system(command.str().c_str());
}

// A run with `arguments` fails, and its stderr says `message`.
void expect_rejected(const std::string& name, const std::string& arguments, const std::string& message) {
  const fs::path dir = scratch(name);
  EXPECT_NE(train(dir, arguments), 0) << arguments;
  std::ifstream err(dir / "stderr.txt");
  const std::string text((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find(message), std::string::npos) << text;
}

TrainRun full_run(const std::string& name, const std::string& extra = "") {
  TrainRun run{scratch(name), {}};
  EXPECT_EQ(train(run.dir, extra), 0) << "see " << run.dir / "stderr.txt";
  run.losses = read_lines(run.dir / "loss.txt");
  return run;
}

}  // namespace

TEST(TrainReproducibility, SameSeedSameLossCurveResumeContinuesItAndTheFileLoads) {
  const TrainRun first = full_run("first");
  const TrainRun second = full_run("second");
  ASSERT_EQ(first.losses.size(), static_cast<std::size_t>(kVaeSteps + kDiffusionSteps));
  EXPECT_EQ(first.losses, second.losses);
  // The losses are real numbers that change from step to step.
  EXPECT_NE(first.losses.front(), first.losses[1]);

  // Stopped after 5 diffusion steps (a checkpoint at step 5 of stage 2 only exists because of
  // the stop), then resumed: the concatenated curve is the uninterrupted one.
  const fs::path dir = scratch("resumed");
  ASSERT_EQ(train(dir, "--stop-after " + std::to_string(kVaeSteps + 5)), 0) << "see " << dir / "stderr.txt";
  EXPECT_FALSE(fs::exists(dir / "model.safetensors"));
  ASSERT_EQ(read_lines(dir / "loss.txt").size(), static_cast<std::size_t>(kVaeSteps + 5));
  ASSERT_EQ(train(dir, "--resume"), 0) << "see " << dir / "stderr.txt";
  EXPECT_EQ(read_lines(dir / "loss.txt"), first.losses);

  // The same weights in both files (fp16 storage), loaded through the checkpoint code path.
  const fs::path model = first.dir / "model.safetensors";
  const auto a = models::SafetensorsFile::open(model);
  const auto b = models::SafetensorsFile::open(dir / "model.safetensors");
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (const auto& info : a.tensors()) {
    ASSERT_NE(b.find(info.name), nullptr) << info.name;
    EXPECT_EQ(info.dtype, models::Dtype::F16) << info.name;
  }

  const models::CheckpointInfo info = models::inspect_checkpoint(model);
  ASSERT_TRUE(info.text_encoder && info.unet && info.vae);
  EXPECT_EQ(info.architecture, "sd1");
  EXPECT_EQ(info.unet->prefix, "model.diffusion_model.");
  EXPECT_EQ(info.vae->prefix, "first_stage_model.");
  EXPECT_EQ(info.text_encoder->prefix, "cond_stage_model.transformer.text_model.");
  const auto metadata = nlohmann::json::parse(a.metadata().at("diffgraph.config"));
  EXPECT_EQ(info.unet->config, models::UNetConfig::from_json(metadata.at("unet")));
  EXPECT_EQ(info.vae->config.norm_groups, metadata.at("vae").at("norm_groups").get<std::int64_t>());
  EXPECT_NE(info.vae->config.scale_factor, 0.18215);  // measured from the data, not SD's
  EXPECT_EQ(info.text_encoder->config.width, metadata.at("text_encoder").at("hidden_size").get<std::int64_t>());

  c10::InferenceMode inference;
  auto clip = models::load_clip_text(info);
  auto vae = models::load_vae(info);
  auto unet = models::load_unet(info);
  const auto ids = torch::full({1, 77}, 49407, torch::kLong);
  const auto context = clip->forward(ids).last_hidden_state;
  const auto latent = unet->forward(torch::zeros({1, 4, 8, 8}), torch::tensor({500}), context);
  EXPECT_EQ(latent.sizes(), (std::vector<std::int64_t>{1, 4, 8, 8}));
  EXPECT_TRUE(torch::isfinite(latent).all().item<bool>());
  const auto image = vae->decode(latent);
  EXPECT_EQ(image.sizes(), (std::vector<std::int64_t>{1, 3, 64, 64}));
  EXPECT_TRUE(fs::exists(first.dir / "grid.png"));
  fs::remove_all(first.dir.parent_path());
}

// The experiment options do what they say: --latent-std scales the exported latent scale factor,
// the loss weighting and cross-attention initialisation change the diffusion stage only, and
// --unet-attention sets the attention levels of the exported config.
TEST(TrainOptions, ExperimentOptionsChangeTheDiffusionStageAndTheExportedConfig) {
  const TrainRun plain = full_run("plain");
  const TrainRun changed = full_run("changed", "--latent-std 0.5 --x0-weight-floor 1 --cross-attention-init-scale 2");
  ASSERT_EQ(changed.losses.size(), plain.losses.size());
  for (int i = 0; i < kVaeSteps; ++i) EXPECT_EQ(changed.losses[i], plain.losses[i]) << "VAE step " << i;
  EXPECT_NE(changed.losses[kVaeSteps], plain.losses[kVaeSteps]);
  const models::CheckpointInfo a = models::inspect_checkpoint(plain.dir / "model.safetensors");
  const models::CheckpointInfo b = models::inspect_checkpoint(changed.dir / "model.safetensors");
  ASSERT_TRUE(a.vae && b.vae);
  EXPECT_NEAR(b.vae->config.scale_factor, 0.5 * a.vae->config.scale_factor, 1e-9 * a.vae->config.scale_factor);

  const TrainRun levels_run = full_run("levels", "--unet-attention 1,2");
  const models::CheckpointInfo c = models::inspect_checkpoint(levels_run.dir / "model.safetensors");
  ASSERT_TRUE(a.unet && c.unet);
  std::vector<std::int64_t> levels = c.unet->config.attention_resolutions;
  std::sort(levels.begin(), levels.end());
  EXPECT_EQ(levels, (std::vector<std::int64_t>{1, 2}));
  EXPECT_NE(a.unet->config.attention_resolutions, c.unet->config.attention_resolutions);

  expect_rejected("bad", "--latent-std 0", "--latent-std must be positive");
  fs::remove_all(plain.dir.parent_path());
}

// --text-encoder-lr-scale: 0 keeps the text encoder as the diffusion stage found it (here, without
// pretraining, its initialisation) whatever the rest of the stage does, and a factor below 1 moves
// it less than the full rate does.
TEST(TrainOptions, TextEncoderLearningRateScale) {
  const TrainRun plain = full_run("te-plain", "--text-encoder-lr-scale 1");
  const TrainRun frozen = full_run("te-frozen", "--text-encoder-lr-scale 0");
  const TrainRun frozen_other_lr = full_run("te-frozen-lr", "--text-encoder-lr-scale 0 --lr 2e-3");
  const TrainRun slow = full_run("te-slow", "--text-encoder-lr-scale 0.1");
  const std::string text_prefix = "cond_stage_model.", unet_prefix = "model.diffusion_model.";
  // Sum over the tensors under `prefix` of |a − b|, in float32.
  auto distance = [](const TrainRun& a, const TrainRun& b, const std::string& prefix) {
    const auto file_a = models::SafetensorsFile::open(a.dir / "model.safetensors");
    const auto file_b = models::SafetensorsFile::open(b.dir / "model.safetensors");
    double sum = 0;
    int tensors = 0;
    for (const auto& info : file_a.tensors()) {
      if (!info.name.starts_with(prefix)) continue;
      const auto x = models::load_tensor(file_a, info.name).to(torch::kFloat32);
      const auto y = models::load_tensor(file_b, info.name).to(torch::kFloat32);
      sum += (x - y).abs().sum().item<double>();
      ++tensors;
    }
    EXPECT_GT(tensors, 0) << prefix;
    return sum;
  };
  EXPECT_EQ(distance(frozen, frozen_other_lr, text_prefix), 0.0);
  EXPECT_GT(distance(frozen, frozen_other_lr, unet_prefix), 0.0);
  const double trained = distance(plain, frozen, text_prefix), slowed = distance(slow, frozen, text_prefix);
  EXPECT_GT(slowed, 0.0);
  EXPECT_LT(slowed, 0.5 * trained);

  expect_rejected("te-bad", "--text-encoder-lr-scale -1", "--text-encoder-lr-scale must not be negative");
  fs::remove_all(plain.dir.parent_path());
}

// --zero-init-transformer-outputs true starts the U-Net transformers' proj_out at zero instead of
// like every other layer (seen with --lr 0, where the exported weights are the initial ones);
// --high-noise-fraction changes the diffusion stage's timesteps and so its losses.
TEST(TrainOptions, TransformerOutputInitAndHighNoiseFraction) {
  const TrainRun zero = full_run("init-zero", "--lr 0 --zero-init-transformer-outputs true");
  const TrainRun dense = full_run("init-dense", "--lr 0");
  auto proj_out_sum = [](const TrainRun& run) {
    const auto file = models::SafetensorsFile::open(run.dir / "model.safetensors");
    double sum = 0;
    for (const auto& info : file.tensors())
      if (info.name.starts_with("model.diffusion_model.") && info.name.ends_with(".proj_out.weight"))
        sum += models::load_tensor(file, info.name).to(torch::kFloat32).abs().sum().item<double>();
    return sum;
  };
  EXPECT_EQ(proj_out_sum(zero), 0.0);
  EXPECT_GT(proj_out_sum(dense), 0.0);
  // proj_out is drawn from a generator of its own: the rest of the run draws the same numbers.
  ASSERT_EQ(dense.losses.size(), zero.losses.size());
  for (int i = 0; i < kVaeSteps; ++i) EXPECT_EQ(dense.losses[i], zero.losses[i]) << "VAE step " << i;

  const TrainRun high = full_run("high-noise", "--high-noise-fraction 1");
  ASSERT_EQ(high.losses.size(), zero.losses.size());
  const TrainRun plain = full_run("high-noise-plain");
  for (int i = 0; i < kVaeSteps; ++i) EXPECT_EQ(high.losses[i], plain.losses[i]) << "VAE step " << i;
  EXPECT_NE(std::vector<std::string>(high.losses.begin() + kVaeSteps, high.losses.end()),
            std::vector<std::string>(plain.losses.begin() + kVaeSteps, plain.losses.end()));

  expect_rejected("high-noise-bad", "--high-noise-fraction 1.5", "--high-noise-fraction must be in [0, 1]");
  fs::remove_all(zero.dir.parent_path());
}

// --text-steps: the text encoder is pretrained between the two stages (its losses logged as
// "text" lines), its probe then names the captions' positions far above chance, the
// diffusion stage starts from that encoder, and a run stopped right after the pretraining and
// resumed does not repeat it: its curve is the uninterrupted one.
TEST(TrainOptions, TextEncoderPretraining) {
  constexpr int kTextSteps = 150;
  const std::string options = "--text-steps " + std::to_string(kTextSteps) + " --text-batch 32 --text-lr 3e-3";
  const TrainRun run = full_run("text", options);
  ASSERT_EQ(run.losses.size(), static_cast<std::size_t>(kVaeSteps + kTextSteps + kDiffusionSteps));
  auto loss_at = [&](int line) {
    std::istringstream fields(run.losses[static_cast<std::size_t>(line)]);
    std::string stage;
    long long step = 0;
    double loss = 0;
    fields >> stage >> step >> loss;
    EXPECT_EQ(stage, "text") << run.losses[static_cast<std::size_t>(line)];
    return loss;
  };
  for (int i = 0; i < kTextSteps; ++i) EXPECT_TRUE(std::isfinite(loss_at(kVaeSteps + i))) << i;
  EXPECT_TRUE(run.losses[kVaeSteps + kTextSteps].starts_with("diffusion 0 ")) << run.losses[kVaeSteps + kTextSteps];

  std::ifstream err(run.dir / "stderr.txt");
  const std::string text((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
  const std::size_t at = text.find("position ", text.find("probe accuracy"));
  ASSERT_NE(at, std::string::npos) << text;
  EXPECT_GT(std::stod(text.substr(at + 9)), 30.0) << "chance is 10 %: " << text.substr(at, 20);

  // Same seed without the pretraining: the same VAE stage, another diffusion stage.
  const TrainRun plain = full_run("text-plain");
  for (int i = 0; i < kVaeSteps; ++i) EXPECT_EQ(run.losses[i], plain.losses[i]) << "VAE step " << i;
  EXPECT_NE(run.losses.back(), plain.losses.back());

  const fs::path dir = scratch("text-resumed");
  ASSERT_EQ(train(dir, options + " --stop-after " + std::to_string(kVaeSteps)), 0) << "see " << dir / "stderr.txt";
  ASSERT_EQ(train(dir, options + " --resume"), 0) << "see " << dir / "stderr.txt";
  EXPECT_EQ(read_lines(dir / "loss.txt"), run.losses);

  expect_rejected("text-bad-batch", "--text-steps 5 --text-batch 0", "--text-batch must be at least 1");
  expect_rejected("text-bad-steps", "--text-steps -1", "--text-steps must not be negative");
  fs::remove_all(run.dir.parent_path());
}
