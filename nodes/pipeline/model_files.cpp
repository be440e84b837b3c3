#include "model_files.hpp"

#include <algorithm>
#include <set>
#include <thread>

#include <torch/torch.h>

#include <diffgraph/fingerprint.hpp>
#include <diffgraph/locations.hpp>

namespace diffgraph::nodes {

namespace fs = std::filesystem;

namespace {

bool is_diffusers_folder(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "model_index.json", ec) || fs::is_directory(dir / "unet", ec);
}

std::string join_paths(const std::vector<fs::path>& paths) {
  std::string out;
  for (const auto& p : paths) out += (out.empty() ? "" : ", ") + p.string();
  return out;
}

}  // namespace

std::vector<fs::path> model_folders(const Environment& environment) {
  std::vector<fs::path> folders = environment.model_dirs;
  folders.push_back(default_model_folder());
  std::vector<fs::path> unique;
  std::set<fs::path> seen;
  for (auto& folder : folders) {
    std::error_code fs_ec;
    auto canonical = fs::weakly_canonical(folder, fs_ec);
    if (seen.insert(fs_ec ? folder : canonical).second) unique.push_back(fs_ec ? folder : canonical);
  }
  return unique;
}

fs::path default_clip_vocabulary() {
  try {
    return find_data_file(fs::path("clip") / "bpe_simple_vocab_16e6.txt.gz");
  } catch (const std::runtime_error& e) {
    throw NodeError(e.what());
  }
}

std::vector<std::string> list_models(const Environment& environment) {
  std::set<std::string> names;
  for (const auto& folder : model_folders(environment)) {
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) continue;
    auto it = fs::recursive_directory_iterator(folder, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const auto& entry = *it;
      if (entry.is_directory(ec) && is_diffusers_folder(entry.path())) {
        names.insert(fs::relative(entry.path(), folder, ec).generic_string());
        it.disable_recursion_pending();
      } else if (entry.is_regular_file(ec) && entry.path().extension() == ".safetensors") {
        names.insert(fs::relative(entry.path(), folder, ec).generic_string());
      }
      if (it.depth() >= 1) it.disable_recursion_pending();
    }
  }
  return {names.begin(), names.end()};
}

fs::path resolve_model(const Environment& environment, const std::string& requested) {
  const std::string name = requested.empty() ? kDefaultModelName : requested;
  std::error_code ec;
  const fs::path direct(name);
  if ((direct.is_absolute() || name.find('/') != std::string::npos || name.starts_with(".")) && fs::exists(direct, ec))
    return direct;
  const auto folders = model_folders(environment);
  for (const auto& folder : folders)
    if (fs::exists(folder / name, ec)) return folder / name;
  std::string message = "model '" + name + "' not found in the model folders (" + join_paths(folders) + ")";
  const auto available = list_models(environment);
  if (available.empty()) {
    message += "; no models are there — pass --models DIR or set DIFFGRAPH_MODELS";
  } else {
    message += "; available:";
    for (const auto& a : available) message += " " + a;
  }
  throw NodeError(message);
}

std::string model_fingerprint(const Environment& environment, const std::string& name) {
  const fs::path path = resolve_model(environment, name);
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return path.string() + "|" + file_fingerprint(path);
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file(ec) && (it->path().extension() == ".safetensors" || it->path().extension() == ".json"))
      files.push_back(it->path());
  std::sort(files.begin(), files.end());
  std::string fingerprint = path.string();
  for (const auto& f : files) fingerprint += "|" + f.string() + ":" + file_fingerprint(f);
  return fingerprint;
}

torch::TensorOptions compute_options(const Environment& environment) {
  const std::string device_name = environment.setting("device", "cpu");
  torch::Device device(torch::kCPU);
  try {
    device = torch::Device(device_name);
  } catch (const std::exception&) {
    throw NodeError("unknown device '" + device_name + "' (use cpu, cuda or cuda:N)");
  }
  if (device.is_cuda() && !torch::cuda::is_available())
    throw NodeError("device '" + device_name + "' was requested but CUDA is not available in this build or machine");
  const std::string dtype_name = environment.setting("dtype", "fp32");
  torch::Dtype dtype;
  if (dtype_name == "fp32" || dtype_name == "float32") dtype = torch::kFloat;
  else if (dtype_name == "fp16" || dtype_name == "float16") dtype = torch::kHalf;
  else if (dtype_name == "bf16" || dtype_name == "bfloat16") dtype = torch::kBFloat16;
  else throw NodeError("unknown dtype '" + dtype_name + "' (use fp32, fp16 or bf16)");
  if (device.is_cpu()) dtype = torch::kFloat;  // LibTorch's CPU kernels compute in float32
  return torch::TensorOptions().device(device).dtype(dtype);
}

void apply_thread_setting(const Environment& environment) {
  const int threads = environment.threads > 0 ? environment.threads
                                              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (at::get_num_threads() != threads) at::set_num_threads(threads);
}

}  // namespace diffgraph::nodes
