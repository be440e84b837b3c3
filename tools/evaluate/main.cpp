// diffgraph-evaluate: the prompt-adherence table of a shapes model (issue #6) at several
// guidance scales, its VAE's reconstruction PSNR, a JSON report and a sample grid.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <thread>

#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <diffgraph/node_spec.hpp>
#include <nlohmann/json.hpp>

#include "evaluation.hpp"
#include "pipeline/model_files.hpp"

using namespace diffgraph;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Measures how well a shapes model follows its prompts: samples random captions, classifies the "
               "decoded pictures and prints the adherence per guidance scale."};
  std::string checkpoint;
  int prompts = 64, psnr_pictures = 0, grid_columns = 16, threads = 0;
  std::uint64_t seed = 0;
  std::vector<double> cfgs = {1, 3, 5, 7};
  evaluate::SamplingSettings settings;
  std::string json_path, grid_path;
  app.add_option("checkpoint", checkpoint, "Checkpoint file (default: the embedded default model)");
  app.add_option("-n,--prompts", prompts, "Prompts per guidance scale")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--cfg", cfgs, "Guidance scales")->delimiter(',')->capture_default_str();
  app.add_option("--seed", seed, "Seed of the prompts and their noise")->capture_default_str();
  app.add_option("--steps", settings.steps, "Sampling steps")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--sampler", settings.sampler, "Sampler (KSampler's names)")->capture_default_str();
  app.add_option("--scheduler", settings.scheduler, "Scheduler (KSampler's names)")->capture_default_str();
  app.add_option("--batch", settings.batch_size, "Prompts sampled together")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--side", settings.side, "Picture side in pixels")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--vae-psnr", psnr_pictures, "Also measure the VAE's PSNR on this many held-out pictures")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--json", json_path, "Write the numbers to this JSON file");
  app.add_option("--grid", grid_path, "Write a sample grid PNG (a row per guidance scale)");
  app.add_option("--grid-columns", grid_columns, "Prompts shown in the grid")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--threads", threads, "LibTorch threads (0 = every core)")->check(CLI::NonNegativeNumber);
  int sensitivity_scenes = 0;
  std::vector<int> timesteps = {999, 950, 900, 800, 600, 400, 200};
  app.add_option("--sensitivity", sensitivity_scenes,
                 "Instead of sampling: print how much the noise prediction on this many rendered scenes depends "
                 "on each caption attribute, per timestep")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--timesteps", timesteps, "Timesteps of --sensitivity")->delimiter(',')->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    at::set_num_threads(threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    const auto started = std::chrono::steady_clock::now();
    const std::filesystem::path path = nodes::resolve_model(Environment{}, checkpoint);
    const evaluate::ShapesModel model = evaluate::load_model(path);
    std::fprintf(stderr, "loaded %s in %.1f s\n", path.c_str(), seconds_since(started));

    if (sensitivity_scenes > 0) {
      const auto rows = evaluate::caption_sensitivity(model, sensitivity_scenes, seed, timesteps, settings.side);
      std::printf("noise-prediction error (eps MSE) over %d rendered scenes, %s\n%s", sensitivity_scenes,
                  path.filename().c_str(), evaluate::format_sensitivity(rows).c_str());
      return 0;
    }

    const auto prompt_list = evaluate::make_prompts(prompts, seed);
    const auto contexts = evaluate::encode_captions(model, prompt_list);
    std::vector<evaluate::Adherence> rows;
    std::vector<torch::Tensor> pictures;
    for (double cfg : cfgs) {
      const auto start = std::chrono::steady_clock::now();
      pictures.push_back(evaluate::generate(model, prompt_list, contexts, cfg, settings));
      rows.push_back(evaluate::score(prompt_list, pictures.back(), cfg));
      std::fprintf(stderr, "cfg %.1f: %d pictures in %.1f s\n", cfg, prompts, seconds_since(start));
    }
    std::printf("%d prompts, %s %d steps, %s scheduler, %s\n%s", prompts, settings.sampler.c_str(), settings.steps,
                settings.scheduler.c_str(), path.filename().c_str(), evaluate::format_table(rows).c_str());

    double psnr = std::numeric_limits<double>::quiet_NaN();
    if (psnr_pictures > 0) {
      psnr = evaluate::vae_psnr(model, psnr_pictures, seed ^ 0x9E3779B97F4A7C15ULL, settings.side);
      std::printf("VAE reconstruction PSNR: %.2f dB over %d held-out pictures\n", psnr, psnr_pictures);
    }
    if (!json_path.empty()) {
      std::ofstream out(json_path);
      out << evaluate::to_json(path, rows, settings, prompts, psnr).dump(2) << "\n";
      if (!out) throw std::runtime_error("cannot write " + json_path);
    }
    if (!grid_path.empty()) evaluate::write_grid(grid_path, pictures, cfgs, prompt_list, grid_columns);
    std::fprintf(stderr, "done in %.1f s\n", seconds_since(started));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "diffgraph-evaluate: %s\n", e.what());
    return 1;
  }
}
