// Model-runtime benchmarks besides the U-Net step (bench_unet.cpp): VAE decode of a 64×64
// latent, CLIP text encoding, and loading a full-size SD 1.5 checkpoint. Full SD 1.5 configs
// (the config structs' defaults), random weights; the checkpoint is synthesised once in the
// temp folder (fp16, 2.1 GB) with real SD 1.5 key names.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <filesystem>
#include <thread>

#include <torch/torch.h>

#include <diffgraph/locations.hpp>

#include "models/checkpoint.hpp"
#include "models/clip_text_model.hpp"
#include "models/clip_tokenizer.hpp"
#include "models/tensor_io.hpp"
#include "models/unet.hpp"
#include "models/vae.hpp"

namespace dm = diffgraph::models;
namespace fs = std::filesystem;

namespace {

// Small random weights: uninitialised storage could hold denormals, which would time the CPU's
// slow path instead of the model.
void randomise(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) p.normal_(0.0, 0.02);
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

void BM_VaeDecode64(benchmark::State& state) {
  dm::AutoencoderKL vae(dm::VaeConfig{}, torch::TensorOptions(torch::kFloat));
  randomise(*vae);
  auto z = torch::randn({1, 4, 64, 64});
  c10::InferenceMode inference;
  for (auto _ : state) benchmark::DoNotOptimize(vae->decode(z));
  state.counters["peak_rss_MiB"] = peak_rss_mib();
}
BENCHMARK(BM_VaeDecode64)->Unit(benchmark::kMillisecond)->Iterations(2)->UseRealTime();

void BM_ClipEncode(benchmark::State& state) {
  dm::ClipTextModel clip(dm::ClipTextConfig{}, torch::TensorOptions(torch::kFloat));
  randomise(*clip);
  const auto tokenizer = dm::ClipTokenizer::from_bpe_gz(diffgraph::find_data_file("clip/bpe_simple_vocab_16e6.txt.gz"));
  const std::string prompt = "a photograph of an astronaut riding a horse on the moon, highly detailed, 8k";
  c10::InferenceMode inference;
  for (auto _ : state) {
    auto ids = tokenizer.encode_77(prompt, tokenizer.eos_id());
    auto input = torch::tensor(std::vector<std::int64_t>(ids.begin(), ids.end())).unsqueeze(0);
    benchmark::DoNotOptimize(clip->forward(input));
  }
}
BENCHMARK(BM_ClipEncode)->Unit(benchmark::kMillisecond)->Iterations(10)->UseRealTime();

fs::path synthetic_sd15_checkpoint() {
  const fs::path path = fs::temp_directory_path() / "diffgraph_bench_sd15_fp16.safetensors";
  if (fs::exists(path)) return path;
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  auto add = [&](torch::nn::Module& module, const std::string& prefix) {
    randomise(module);
    for (const auto& p : module.named_parameters()) tensors.emplace_back(prefix + p.key(), p.value().to(torch::kHalf));
  };
  dm::UNetModel unet(dm::UNetConfig{}, torch::TensorOptions(torch::kFloat));
  add(*unet, "model.diffusion_model.");
  dm::AutoencoderKL vae(dm::VaeConfig{}, torch::TensorOptions(torch::kFloat));
  add(*vae, "first_stage_model.");
  dm::ClipTextModel clip(dm::ClipTextConfig{}, torch::TensorOptions(torch::kFloat));
  add(*clip, "cond_stage_model.transformer.text_model.");
  dm::save_tensors(path, tensors);
  return path;
}

void BM_LoadSd15Checkpoint(benchmark::State& state) {
  const fs::path path = synthetic_sd15_checkpoint();
  for (auto _ : state) {
    const auto info = dm::inspect_checkpoint(path);
    auto unet = dm::load_unet(info);
    auto clip = dm::load_clip_text(info);
    auto vae = dm::load_vae(info);
    benchmark::DoNotOptimize(unet.ptr());
  }
  state.counters["file_GB"] = static_cast<double>(fs::file_size(path)) / 1e9;
}
BENCHMARK(BM_LoadSd15Checkpoint)->Unit(benchmark::kMillisecond)->Iterations(2)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  at::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
