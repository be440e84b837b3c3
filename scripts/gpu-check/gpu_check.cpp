// gpu_check — runs the model runtime (U-Net, VAE, CLIP text encoder, attention) on a CUDA device
// against the golden fixtures and times one full-size SD 1.5 U-Net step.
//
// Built by scripts/gpu-check/CMakeLists.txt straight from nodes/models/*.cpp against whatever
// LibTorch find_package(Torch) finds (PyTorch's own 2.x on the GPU machine, Debian's 1.13 on the
// development machine, where `--device cpu` gives a dry run of the same checks).
//
//   gpu_check [--device cuda|cpu] [--dtypes fp32,fp16,bf16] [--skip-timing] [--iterations N]
//             [--timing-latent N]
//
// Fixtures come from DIFFGRAPH_FIXTURES (default ../shared/fixtures), as in the test suites.
// Checks:
//   * attention: which kernel this LibTorch uses, and that it agrees with a float64 reference;
//   * every `unet` case in float32 within the fixture tolerance, and in float16/bfloat16 within
//     a loose relative tolerance (half-precision rounding through ~30 layers);
//   * every `vae` and `clip_text` case in float32 within the fixture tolerances;
//   * timing (CUDA only): one SD 1.5 U-Net step, batch 2, 64×64 latent, context [2,77,768],
//     random weights, median of timed iterations after warm-up.
// Prints a PASS/FAIL line per check and a summary; exits 1 when any check fails.
#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "models/attention.hpp"
#include "models/checkpoint.hpp"
#include "models/clip_text_model.hpp"
#include "support/fixtures.hpp"
#include "models/tensor_io.hpp"
#include "models/unet.hpp"
#include "models/vae.hpp"

namespace dm = diffgraph::models;
namespace dt = diffgraph::testing;
using nlohmann::json;

namespace {

// Half-precision tolerances, as max|diff| / max|reference|. The fixture models are random, so
// every layer's output is O(1) and rounding errors compound through the ~30 layers of the tiny
// U-Net: bfloat16 (8-bit mantissa) measured 0.077-0.092 on the CPU with LibTorch 1.13; float16
// has 3 more mantissa bits. Loose on purpose: a wrong convention gives errors of order 1.
constexpr double kFp16RelTolerance = 3e-2;
constexpr double kBf16RelTolerance = 1.5e-1;

struct Options {
  std::string device = "cuda";
  std::vector<std::string> dtypes{"fp32", "fp16", "bf16"};
  bool timing = true;
  int iterations = 10;
  std::int64_t timing_latent = 64;  ///< latent side of the timed step (smaller for a CPU dry run)
};

struct Result {
  std::string name;
  bool pass;
  std::string detail;
};

std::vector<Result> results;

void record(const std::string& name, bool pass, const std::string& detail) {
  results.push_back({name, pass, detail});
  std::printf("[%s] %s: %s\n", pass ? "PASS" : "FAIL", name.c_str(), detail.c_str());
  std::fflush(stdout);
}

// Runs one check; an exception is that check's failure, not the program's.
template <class Fn>
void guarded(const std::string& name, Fn&& fn) {
  try {
    fn();
  } catch (const c10::Error& error) {
    record(name, false, std::string("exception: ") + error.what_without_backtrace());
  } catch (const std::exception& error) {
    record(name, false, std::string("exception: ") + error.what());
  }
}

std::string format(const char* fmt, double a, double b = 0, double c = 0) {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, fmt, a, b, c);
  return buffer;
}

torch::Dtype dtype_of(const std::string& name) {
  if (name == "fp32") return torch::kFloat32;
  if (name == "fp16") return torch::kFloat16;
  if (name == "bf16") return torch::kBFloat16;
  throw std::invalid_argument("unknown dtype '" + name + "' (fp32, fp16, bf16)");
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.detach().to(torch::kCPU, torch::kFloat64) - b.to(torch::kCPU, torch::kFloat64)).abs().max().item<double>();
}

double max_abs(const torch::Tensor& a) { return a.to(torch::kFloat64).abs().max().item<double>(); }

json at_pointer(const json& document, const std::string& pointer) { return document.at(json::json_pointer(pointer)); }

// The model config a case's weights were made with (`weights.config` at `weights.config_pointer`).
json weights_config(const dt::FixtureCase& c) {
  const json& w = c.entry.at("weights");
  return at_pointer(dt::read_json_file(dt::FixtureCase::path(w.at("config").get<std::string>())),
                    w.at("config_pointer").get<std::string>());
}

dm::SafetensorsFile weights_file(const dt::FixtureCase& c) {
  return dm::SafetensorsFile::open(dt::FixtureCase::path(c.entry.at("weights").at("file").get<std::string>()));
}

std::string weights_prefix(const dt::FixtureCase& c) { return c.entry.at("weights").at("prefix"); }

// Input tensor `name` of the case, from the file of its role.
torch::Tensor case_input(const dt::FixtureCase& c, const std::string& name) {
  const std::string role = c.entry.at("inputs").at(name);
  return dm::load_tensor(dm::SafetensorsFile::open(c.file(role)), name);
}

// ---- attention ---------------------------------------------------------------------------------

void check_attention(const torch::Device& device) {
#if TORCH_VERSION_MAJOR >= 2
  const char* kernel = "at::scaled_dot_product_attention";
#else
  const char* kernel = "sliced GEMM/softmax (LibTorch 1.x path)";
#endif
  std::printf("attention kernel compiled in: %s (TORCH_VERSION %s)\n", kernel, TORCH_VERSION);
  torch::manual_seed(3);
  const auto options = torch::TensorOptions().device(device).dtype(torch::kFloat32);
  for (bool causal : {false, true}) {
    const std::string name = std::string("attention ") + (causal ? "causal" : "full") + " fp32";
    guarded(name, [&] {
      const std::int64_t n = 333;  // not a tile multiple
      const torch::Tensor q = torch::randn({2, 8, n, 40}, options), k = torch::randn({2, 8, n, 40}, options),
                          v = torch::randn({2, 8, n, 40}, options);
      const double scale = 1.0 / std::sqrt(40.0);
      torch::Tensor mine = dm::attention(q, k, v, scale, causal);
      // Float64 reference on the CPU.
      torch::Tensor scores = torch::matmul(q.to(torch::kCPU, torch::kFloat64),
                                           k.to(torch::kCPU, torch::kFloat64).transpose(-1, -2)) * scale;
      if (causal) scores.masked_fill_(torch::ones({n, n}, torch::kBool).triu(1), -INFINITY);
      const torch::Tensor expected = torch::matmul(scores.softmax(-1), v.to(torch::kCPU, torch::kFloat64));
      const double diff = max_abs_diff(mine, expected);
      std::string detail = format("max|diff| vs float64 %.3g (limit 1e-4)", diff);
      bool same_as_sdpa = true;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
      // The 2.x path must be exactly the library kernel.
      const torch::Tensor sdpa = at::scaled_dot_product_attention(q, k, v, {}, 0.0, causal, scale);
      same_as_sdpa = torch::equal(mine.contiguous(), sdpa.contiguous());
      detail += same_as_sdpa ? ", bitwise equal to at::scaled_dot_product_attention"
                             : ", DIFFERS from at::scaled_dot_product_attention";
#endif
      record(name, diff <= 1e-4 && same_as_sdpa, detail);
    });
  }
}

// ---- U-Net -------------------------------------------------------------------------------------

void check_unet(const dt::FixtureCase& c, const torch::Device& device, const std::string& dtype_name) {
  const torch::Dtype dtype = dtype_of(dtype_name);
  const dm::SafetensorsFile weights = weights_file(c);
  torch::InferenceMode inference;
  dm::UNetModel model =
      dm::load_unet(weights, weights_prefix(c), weights_config(c), torch::TensorOptions().device(device).dtype(dtype));
  const dm::SafetensorsFile data = dm::SafetensorsFile::open(c.file("data"));
  for (const auto& call : c.entry.at("calls")) {
    const std::string output = call.at("output");
    const std::string name = "unet " + c.id() + " " + output + " " + dtype_name;
    guarded(name, [&] {
      const torch::Tensor eps = model->forward(case_input(c, call.at("x")).to(device),
                                               case_input(c, call.at("timesteps")).to(device),
                                               case_input(c, call.at("context")).to(device));
      const torch::Tensor expected = dm::load_tensor(data, output);
      if (eps.sizes() != expected.sizes()) throw std::runtime_error("output shape differs from the reference");
      if (eps.device().type() != device.type() || eps.scalar_type() != dtype)
        throw std::runtime_error("output is not on the requested device/dtype");
      const double diff = max_abs_diff(eps, expected), ref = max_abs(expected), rel = diff / ref;
      const torch::Tensor expected64 = expected.to(torch::kFloat64);
      const double rms_rel = ((eps.to(torch::kCPU, torch::kFloat64) - expected64).norm() / expected64.norm()).item<double>();
      if (dtype == torch::kFloat32) {
        const double atol = c.atol(output);
        record(name, diff <= atol, format("max|diff| %.3g (atol %.3g), rel %.3g", diff, atol, rel));
      } else {
        const double limit = dtype == torch::kFloat16 ? kFp16RelTolerance : kBf16RelTolerance;
        record(name, std::isfinite(diff) && rel <= limit,
               format("max|diff| %.3g, rel to max|ref| %.3g (limit %.3g)", diff, rel, limit) +
                   format(", rel RMS %.3g", rms_rel));
      }
    });
  }
}

// ---- VAE and CLIP ------------------------------------------------------------------------------

// Compares each output the case lists with `actual[name]` against its fixture tolerance.
void compare_outputs(const dt::FixtureCase& c, const std::string& label, const std::map<std::string, torch::Tensor>& actual) {
  const dm::SafetensorsFile data = dm::SafetensorsFile::open(c.file("data"));
  for (const std::string& output : c.outputs()) {
    const std::string name = label + " " + c.id() + " " + output + " fp32";
    guarded(name, [&] {
      const auto found = actual.find(output);
      if (found == actual.end()) throw std::runtime_error("the check computes no output named " + output);
      const torch::Tensor expected = dm::load_tensor(data, output);
      if (found->second.sizes() != expected.sizes()) throw std::runtime_error("output shape differs from the reference");
      const double diff = max_abs_diff(found->second, expected), atol = c.atol(output);
      record(name, diff <= atol, format("max|diff| %.3g (atol %.3g)", diff, atol));
    });
  }
}

void check_vae(const dt::FixtureCase& c, const torch::Device& device) {
  const dm::SafetensorsFile weights = weights_file(c);
  torch::InferenceMode inference;
  dm::AutoencoderKL model = dm::load_vae(weights, weights_prefix(c), weights_config(c),
                                         torch::TensorOptions().device(device).dtype(torch::kFloat32));
  const torch::Tensor image = case_input(c, "image").to(device);
  const torch::Tensor moments = model->encode_moments(image);
  const dm::DiagonalGaussian posterior = model->encode(image);
  const torch::Tensor decoded = model->decode(case_input(c, "z").to(device));
  if (decoded.device().type() != device.type()) throw std::runtime_error("VAE output is not on " + device.str());
  compare_outputs(c, "vae",
                  {{"moments", moments},
                   {"mean", posterior.mean},
                   {"logvar", posterior.logvar},
                   {"std", posterior.std()},
                   {"decoded", decoded}});
}

void check_clip(const dt::FixtureCase& c, const torch::Device& device) {
  const dm::SafetensorsFile weights = weights_file(c);
  torch::InferenceMode inference;
  dm::ClipTextModel model = dm::load_clip_text(weights, weights_prefix(c), weights_config(c),
                                               torch::TensorOptions().device(device).dtype(torch::kFloat32));
  const torch::Tensor ids = case_input(c, "input_ids").to(device);
  const dm::ClipTextOutput out = model->forward(ids, /*clip_skip=*/1, /*keep_hidden_states=*/true);
  const dm::ClipTextOutput skip2 = model->forward(ids, /*clip_skip=*/2);
  if (out.last_hidden_state.device().type() != device.type()) throw std::runtime_error("CLIP output is not on " + device.str());
  compare_outputs(c, "clip",
                  {{"last_hidden_state", out.last_hidden_state},
                   {"penultimate", skip2.hidden},
                   {"pooled", out.pooled},
                   {"hidden_states", torch::stack(out.hidden_states)}});
}

// ---- timing ------------------------------------------------------------------------------------

// SD 1.5 (v1-inference.yaml), spelled out as in bench/bench_unet.cpp.
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

void time_sd15(const torch::Device& device, torch::Dtype dtype, const std::string& label, int iterations,
               std::int64_t latent, bool cudnn_benchmark) {
  const std::string name = "timing SD1.5 U-Net step " + label + ", batch 2, latent " + std::to_string(latent) + "x" +
                           std::to_string(latent) + (cudnn_benchmark ? " (cudnn.benchmark)" : "");
  guarded(name, [&] {
    at::globalContext().setBenchmarkCuDNN(cudnn_benchmark);
    torch::manual_seed(0);
    torch::InferenceMode inference;
    const auto options = torch::TensorOptions().device(device).dtype(dtype);
    dm::UNetModel model(sd15_config(), options);
    // Weights like the fixtures' (matrices N(0,1)/√fan_in, small biases, unit norm gains) so the
    // activations stay O(1) and half precision neither overflows nor underflows.
    std::int64_t parameters = 0;
    for (auto& item : model->named_parameters()) {
      torch::Tensor& p = item.value();
      parameters += p.numel();
      if (p.dim() >= 2) {
        p.normal_(0.0, 1.0 / std::sqrt(static_cast<double>(p[0].numel())));
      } else if (item.key().find("norm") != std::string::npos || item.key().find("layers.0.") != std::string::npos ||
                 item.key().rfind("out.0.", 0) == 0) {
        p.fill_(item.key().size() >= 6 && item.key().compare(item.key().size() - 6, 6, "weight") == 0 ? 1.0 : 0.0);
      } else {
        p.normal_(0.0, 0.05);
      }
    }
    const torch::Tensor x = torch::randn({2, 4, latent, latent}, options);
    const torch::Tensor timesteps = torch::tensor({999, 500}, torch::TensorOptions().dtype(torch::kInt64)).to(device);
    const torch::Tensor context = torch::randn({2, 77, 768}, options);
    auto sync = [&] {
      if (device.is_cuda()) torch::cuda::synchronize();
    };
    torch::Tensor eps;
    for (int i = 0; i < 3; ++i) eps = model->forward(x, timesteps, context);  // warm-up (cuDNN/cuBLAS plans)
    sync();
    std::vector<double> ms;
    for (int i = 0; i < iterations; ++i) {
      const auto start = std::chrono::steady_clock::now();
      eps = model->forward(x, timesteps, context);
      sync();
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2];
    const bool finite = torch::isfinite(eps).all().item<bool>();
    std::ostringstream detail;
    detail << format("median %.2f ms (min %.2f, max %.2f", median, ms.front(), ms.back()) << ", " << iterations
           << " iterations after 3 warm-up), " << parameters / 1000000 << " M parameters, output "
           << (finite ? "finite" : "NOT finite");
    record(name, finite, detail.str());
  });
  at::globalContext().setBenchmarkCuDNN(false);
}

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--device") {
      options.device = value();
    } else if (arg == "--dtypes") {
      options.dtypes.clear();
      std::stringstream list(value());
      for (std::string item; std::getline(list, item, ',');) options.dtypes.push_back(item);
    } else if (arg == "--skip-timing") {
      options.timing = false;
    } else if (arg == "--timing-latent") {
      options.timing_latent = std::stoll(value());
    } else if (arg == "--iterations") {
      options.iterations = std::max(1, std::stoi(value()));
    } else {
      throw std::invalid_argument("unknown argument " + arg);
    }
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    options = parse(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "gpu_check: %s\nusage: gpu_check [--device cuda|cpu] [--dtypes fp32,fp16,bf16] "
                         "[--skip-timing] [--iterations N] [--timing-latent N]\n", error.what());
    return 2;
  }
  std::printf("LibTorch %s (TORCH_VERSION_MAJOR %d, MINOR %d), CUDA available: %s, devices: %d\n", TORCH_VERSION,
              TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, torch::cuda::is_available() ? "yes" : "no",
              static_cast<int>(torch::cuda::device_count()));
  std::printf("fixtures: %s\n", dt::fixtures_dir().c_str());

  const torch::Device device(options.device);
  if (device.is_cuda()) {
    if (!torch::cuda::is_available()) {
      record("CUDA device", false, "torch::cuda::is_available() is false (CPU-only LibTorch or no driver)");
    } else {
      // float32 must mean IEEE float32 for the fixture tolerances: cuDNN convolutions default to
      // TF32 on Ampere and later (cuBLAS matmuls default to IEEE already).
      at::globalContext().setAllowTF32CuDNN(false);
      at::globalContext().setAllowTF32CuBLAS(false);
      std::printf("TF32: cuDNN %s, cuBLAS %s\n", at::globalContext().allowTF32CuDNN() ? "on" : "off",
                  at::globalContext().allowTF32CuBLAS() ? "on" : "off");
    }
  } else {
    at::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  }

  if (results.empty()) {
    check_attention(device);
    for (const auto& c : dt::fixture_cases("unet")) {
      for (const auto& dtype : options.dtypes) {
        guarded("unet " + c.id() + " " + dtype, [&] { check_unet(c, device, dtype); });
      }
    }
    for (const auto& c : dt::fixture_cases("vae")) guarded("vae " + c.id(), [&] { check_vae(c, device); });
    for (const auto& c : dt::fixture_cases("clip_text")) guarded("clip " + c.id(), [&] { check_clip(c, device); });
    if (options.timing && device.is_cuda()) {
      const int n = options.iterations;
      const std::int64_t latent = options.timing_latent;
      time_sd15(device, torch::kFloat16, "fp16", n, latent, false);
      time_sd15(device, torch::kFloat16, "fp16", n, latent, true);
      time_sd15(device, torch::kBFloat16, "bf16", n, latent, false);
      time_sd15(device, torch::kFloat32, "fp32 (TF32 off)", n, latent, false);
    } else if (options.timing) {
      // CPU dry run of the timing code (LibTorch's CPU kernels lack float16 GEMMs).
      time_sd15(device, torch::kFloat32, "fp32", options.iterations, options.timing_latent, false);
    }
  }

  const auto failed = std::count_if(results.begin(), results.end(), [](const Result& r) { return !r.pass; });
  std::printf("\n==== SUMMARY: %zu checks, %zu passed, %ld failed -> %s ====\n", results.size(),
              results.size() - static_cast<std::size_t>(failed), static_cast<long>(failed),
              failed == 0 && !results.empty() ? "PASS" : "FAIL");
  for (const auto& r : results) {
    if (!r.pass) std::printf("  FAILED: %s: %s\n", r.name.c_str(), r.detail.c_str());
  }
  return failed == 0 && !results.empty() ? 0 : 1;
}
