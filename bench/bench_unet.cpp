// bench_unet — one SD 1.5 U-Net step (random weights) on the CPU, against the machine's measured
// GEMM and 3×3-convolution throughput.
//
// Counters: FLOP/s (achieved, from an analytic count of the convolutions, projections and
// attention products — elementwise ops and norms are not counted), GFLOP (per step) and
// peak_rss_MiB (getrusage high-water mark of the whole process so far).
// `bench_unet --profile [latent] [--no-prepack]` instead runs one step (default 64×64) with
// per-block timers and prints where the time goes.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <map>
#include <thread>

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "models/unet.hpp"

namespace dm = diffgraph::models;

namespace {

constexpr std::int64_t kBatch = 2;
constexpr std::int64_t kContextTokens = 77;

// SD 1.5 (v1-inference.yaml): 320 channels, mult 1,2,4,4, 2 res blocks, attention at ds 1,2,4,
// 8 heads, context 768 — the UNetConfig defaults, spelled out so the benchmark keeps measuring
// SD 1.5 whatever the defaults become.
dm::UNetConfig sd15_config() {
  dm::UNetConfig c;
  c.in_channels = 4;
  c.out_channels = 4;
  c.model_channels = 320;
  c.channel_mult = {1, 2, 4, 4};
  c.num_res_blocks = 2;
  c.attention_resolutions = {4, 2, 1};
  c.num_heads = 8;
  c.num_head_channels = -1;
  c.transformer_depth = 1;
  c.context_dim = 768;
  c.use_linear_in_transformer = false;
  return c;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// The model is built once: 860 M parameters take 3.4 GB of float32.
dm::UNetModel& sd15_model() {
  static dm::UNetModel model = [] {
    torch::NoGradGuard no_grad;
    dm::UNetModel m(sd15_config(), torch::TensorOptions(torch::kFloat32));
    // Weights like the fixtures' (matrices N(0,1)/√fan_in, biases small, norm gains 1) so the
    // activations stay O(1): no overflow or denormal slow paths.
    for (auto& item : m->named_parameters()) {
      torch::Tensor& p = item.value();
      if (p.dim() >= 2) {
        p.normal_(0.0, 1.0 / std::sqrt(static_cast<double>(p[0].numel())));
      } else if (item.key().find("norm") != std::string::npos || item.key().find("layers.0.") != std::string::npos ||
                 item.key().starts_with("out.0.")) {
        p.fill_(item.key().ends_with("weight") ? 1.0 : 0.0);
      } else {
        p.normal_(0.0, 0.05);
      }
    }
    return m;
  }();
  return model;
}

// Analytic FLOP count (multiply-add = 2) of one U-Net call, mirroring UNetModelImpl's layout.
double unet_flops(const dm::UNetConfig& c, std::int64_t batch, std::int64_t height, std::int64_t width,
                  std::int64_t context_tokens) {
  double total = 0;
  const double b = static_cast<double>(batch);
  auto conv = [&](double cin, double cout, double k, double h, double w) {
    total += 2 * b * cin * cout * k * k * h * w;
  };
  auto linear = [&](double in, double out, double rows) { total += 2 * rows * in * out; };
  const double mc = static_cast<double>(c.model_channels), emb = 4 * mc, ctx = static_cast<double>(c.context_dim);
  auto resblock = [&](double cin, double cout, double h, double w) {
    conv(cin, cout, 3, h, w);
    conv(cout, cout, 3, h, w);
    if (cin != cout) conv(cin, cout, 1, h, w);
    linear(emb, cout, b);
  };
  auto transformer = [&](double ch, double h, double w) {
    const double n = h * w, tokens = b * n, m = static_cast<double>(context_tokens);
    linear(ch, ch, tokens);  // proj_in
    linear(ch, ch, tokens);  // proj_out
    for (std::int64_t d = 0; d < c.transformer_depth; ++d) {
      linear(ch, 3 * ch, tokens);       // attn1 q, k, v
      total += 2 * 2 * b * n * n * ch;  // attn1 q·kᵀ and probs·v (all heads)
      linear(ch, ch, tokens);           // attn1 out
      linear(ch, ch, tokens);           // attn2 q
      linear(ctx, 2 * ch, b * m);       // attn2 k, v
      total += 2 * 2 * b * n * m * ch;  // attn2 products
      linear(ch, ch, tokens);           // attn2 out
      linear(ch, 8 * ch, tokens);       // ff.net.0.proj (GEGLU)
      linear(4 * ch, ch, tokens);       // ff.net.2
    }
  };
  linear(mc, emb, b);
  linear(emb, emb, b);
  double h = static_cast<double>(height), w = static_cast<double>(width), ch = mc;
  conv(static_cast<double>(c.in_channels), mc, 3, h, w);
  std::vector<double> skips{mc};
  for (std::int64_t level = 0; level < c.levels(); ++level) {
    for (std::int64_t r = 0; r < c.num_res_blocks; ++r) {
      const double out = mc * static_cast<double>(c.channel_mult[level]);
      resblock(ch, out, h, w);
      ch = out;
      if (c.has_attention(level)) transformer(ch, h, w);
      skips.push_back(ch);
    }
    if (level + 1 < c.levels()) {
      h /= 2;
      w /= 2;
      conv(ch, ch, 3, h, w);
      skips.push_back(ch);
    }
  }
  resblock(ch, ch, h, w);
  transformer(ch, h, w);
  resblock(ch, ch, h, w);
  for (std::int64_t level = c.levels() - 1; level >= 0; --level) {
    for (std::int64_t r = 0; r <= c.num_res_blocks; ++r) {
      const double out = mc * static_cast<double>(c.channel_mult[level]);
      resblock(ch + skips.back(), out, h, w);
      skips.pop_back();
      ch = out;
      if (c.has_attention(level)) transformer(ch, h, w);
      if (level > 0 && r == c.num_res_blocks) {
        h *= 2;
        w *= 2;
        conv(ch, ch, 3, h, w);
      }
    }
  }
  conv(mc, static_cast<double>(c.out_channels), 3, h, w);
  return total;
}

struct StepInputs {
  torch::Tensor x, timesteps, context;
};

StepInputs step_inputs(std::int64_t latent) {
  torch::manual_seed(0);
  return {torch::randn({kBatch, 4, latent, latent}), torch::tensor({999, 500}, torch::kInt64),
          torch::randn({kBatch, kContextTokens, 768})};
}

// Args: latent size, weight prepacking (UNetModelImpl::set_weight_prepacking; on by default,
// where it packs the weights of small problems for latents up to 32×32). peak_rss_MiB is the
// process's high-water mark so far, so the 64×64 step with the default settings runs first (it
// packs nothing big) and a row's own peak needs that row run alone (--benchmark_filter).
void BM_UNetStep_SD15(benchmark::State& state) {
  const std::int64_t latent = state.range(0);
  const bool prepack = state.range(1) != 0;
  dm::UNetModel& model = sd15_model();
  model->set_weight_prepacking(prepack);
  const StepInputs in = step_inputs(latent);
  torch::InferenceMode inference;
  // Warm-up: first-touch allocations, oneDNN primitive creation and, when enabled, packing.
  model->forward(in.x, in.timesteps, in.context);
  for (auto _ : state) {
    torch::Tensor eps = model->forward(in.x, in.timesteps, in.context);
    benchmark::DoNotOptimize(eps.data_ptr());
  }
  const double flops = unet_flops(model->config(), kBatch, latent, latent, kContextTokens);
  state.counters["GFLOP"] = flops / 1e9;
  state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_rss_MiB"] = peak_rss_mib();
  state.SetLabel("batch 2, latent " + std::to_string(latent) + "x" + std::to_string(latent) + ", context 77x768" +
                 (prepack ? "" : ", no weight prepacking"));
}
BENCHMARK(BM_UNetStep_SD15)->Args({64, 1})->Iterations(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_UNetStep_SD15)->Args({32, 1})->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_UNetStep_SD15)->Args({64, 0})->Iterations(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_UNetStep_SD15)->Args({32, 0})->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();

// The machine's float32 GEMM throughput through LibTorch (OpenBLAS/MKL): the ceiling for the
// projections and attention.
void BM_MatmulPeak(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  torch::InferenceMode inference;
  const torch::Tensor a = torch::randn({n, n}), b = torch::randn({n, n});
  torch::Tensor c = torch::empty({n, n});
  for (auto _ : state) {
    at::mm_out(c, a, b);
    benchmark::DoNotOptimize(c.data_ptr());
  }
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * n * n * n, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_MatmulPeak)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

// A 3×3 convolution at 320 channels as the U-Net's level 0 runs it (batch 2): the ceiling for
// the ResBlocks, which hold most of the FLOPs.
void BM_Conv3x3Peak(benchmark::State& state) {
  const std::int64_t size = state.range(0), ch = 320;
  torch::InferenceMode inference;
  const torch::Tensor x = torch::randn({kBatch, ch, size, size});
  const torch::Tensor w = torch::randn({ch, ch, 3, 3}) / std::sqrt(ch * 9.0), b = torch::zeros({ch});
  for (auto _ : state) {
    torch::Tensor y = torch::conv2d(x, w, b, 1, 1);
    benchmark::DoNotOptimize(y.data_ptr());
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * kBatch * ch * ch * 9 * size * size, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Conv3x3Peak)->Arg(32)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

// --profile: per-block wall times of one step (the observer fires after each block).
int profile(std::int64_t latent, bool prepack) {
  dm::UNetModel& model = sd15_model();
  model->set_weight_prepacking(prepack);
  const StepInputs in = step_inputs(latent);
  torch::InferenceMode inference;
  model->forward(in.x, in.timesteps, in.context);  // warm-up
  using clock = std::chrono::steady_clock;
  std::vector<std::pair<std::string, double>> times;
  auto last = clock::now();
  const auto start = last;
  model->forward(in.x, in.timesteps, in.context, [&](const std::string& name, const torch::Tensor&) {
    const auto now = clock::now();
    times.emplace_back(name, std::chrono::duration<double>(now - last).count());
    last = now;
  });
  const double total = std::chrono::duration<double>(clock::now() - start).count();
  std::cout << "U-Net SD1.5 step, batch 2, latent " << latent << (prepack ? "" : ", no weight prepacking") << ": "
            << std::fixed << std::setprecision(3) << total << " s, "
            << unet_flops(model->config(), kBatch, latent, latent, kContextTokens) / total / 1e9
            << " GFLOP/s, peak RSS " << std::setprecision(0) << peak_rss_mib() << " MiB\n"
            << std::setprecision(3);
  for (const auto& [name, seconds] : times)
    std::cout << "  " << std::left << std::setw(18) << name << std::right << std::setw(8) << seconds * 1000 << " ms\n";
  std::cout << "  (out)             " << std::setw(8)
            << std::chrono::duration<double>(clock::now() - last).count() * 1000 << " ms\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Library code leaves threading alone; a benchmark uses every core.
  at::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  bool prepack = true;
  for (int i = 1; i < argc; ++i) prepack = prepack && std::strcmp(argv[i], "--no-prepack") != 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--profile") == 0)
      return profile(i + 1 < argc && argv[i + 1][0] != '-' ? std::stoll(argv[i + 1]) : 64, prepack);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
