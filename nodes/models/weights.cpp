#include "weights.hpp"

#include <set>
#include <sstream>

#include <torch/torch.h>

#include "tensor_io.hpp"

namespace diffgraph::models {

ShapeMap shapes_under(const SafetensorsFile& file, std::string_view prefix) {
  ShapeMap shapes;
  for (const auto& tensor : file.tensors()) {
    if (tensor.name.starts_with(prefix)) shapes[tensor.name.substr(prefix.size())] = tensor.shape;
  }
  return shapes;
}

std::int64_t count_numbered(const ShapeMap& shapes, std::string_view stem) {
  std::int64_t count = 0;
  for (auto it = shapes.lower_bound(std::string(stem)); it != shapes.end() && it->first.starts_with(stem); ++it) {
    const std::string_view rest = std::string_view(it->first).substr(stem.size());
    std::size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits == 0 || digits > 6 || digits >= rest.size() || rest[digits] != '.') continue;
    count = std::max<std::int64_t>(count, std::stoll(std::string(rest.substr(0, digits))) + 1);
  }
  return count;
}

namespace {

std::string shape_text(c10::IntArrayRef shape) {
  std::ostringstream out;
  out << shape;
  return out.str();
}

void list_keys(std::ostringstream& out, const char* title, const std::vector<std::string>& keys,
               std::string_view prefix) {
  if (keys.empty()) return;
  out << "\n  " << title << " (" << keys.size() << "):";
  for (std::size_t i = 0; i < keys.size() && i < 20; ++i) out << "\n    " << prefix << keys[i];
  if (keys.size() > 20) out << "\n    …";
}

WeightSource source_of(const LoadWeightsOptions& options, const std::string& path) {
  if (options.source_for) return options.source_for(path);
  return WeightSource{options.key_for ? options.key_for(path) : path};
}

/// Whether the stored tensor of shape `stored`, seen through `source` (row slice, reshape),
/// fills a parameter of shape `target`.
bool source_fits(const WeightSource& source, const std::vector<std::int64_t>& stored,
                 c10::IntArrayRef target) {
  std::vector<std::int64_t> seen = stored;
  if (source.row_count >= 0) {
    if (seen.empty() || source.row_begin < 0 || source.row_begin + source.row_count > seen[0]) return false;
    seen[0] = source.row_count;
  }
  if (source.reshape) {
    std::int64_t a = 1, b = 1;
    for (auto d : seen) a *= d;
    for (auto d : target) b *= d;
    return a == b;
  }
  return std::equal(seen.begin(), seen.end(), target.begin(), target.end());
}

/// Every parameter and buffer of the module with its path.
std::vector<std::pair<std::string, torch::Tensor>> module_tensors(torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (auto& item : module.named_parameters(/*recurse=*/true)) tensors.emplace_back(item.key(), item.value());
  for (auto& item : module.named_buffers(/*recurse=*/true)) tensors.emplace_back(item.key(), item.value());
  return tensors;
}

}  // namespace

WeightsReport check_weights(torch::nn::Module& module, const ShapeMap& shapes,
                            const LoadWeightsOptions& options) {
  WeightsReport report;
  std::set<std::string> used;
  for (const auto& [path, target] : module_tensors(module)) {
    const WeightSource source = source_of(options, path);
    const auto found = shapes.find(source.key);
    if (found == shapes.end()) {
      report.missing.push_back(source.key);
      continue;
    }
    // Several parameters may come from one tensor (split projections): it counts as used once.
    used.insert(source.key);
    if (!source_fits(source, found->second, target.sizes())) {
      std::string what = source.key + ": file " + shape_text(found->second);
      if (source.row_count >= 0) {
        what += " rows [" + std::to_string(source.row_begin) + "," +
                std::to_string(source.row_begin + source.row_count) + ")";
      }
      report.mismatched.push_back(what + ", model " + shape_text(target.sizes()));
    }
  }
  for (const auto& [key, shape] : shapes) {
    if (used.count(key)) {
      report.used.push_back(key);
    } else if (options.ignore_key && options.ignore_key(key)) {
      report.ignored.push_back(key);
    } else {
      report.unexpected.push_back(key);
    }
  }
  return report;
}

std::string describe_weights_report(const WeightsReport& report, std::string_view source,
                                    std::string_view prefix) {
  std::ostringstream message;
  message << source << ": the weights under '" << prefix << "' do not fit the detected model";
  list_keys(message, "missing keys", report.missing, prefix);
  list_keys(message, "shape mismatches", report.mismatched, prefix);
  list_keys(message, "unexpected keys", report.unexpected, prefix);
  return message.str();
}

void load_weights(torch::nn::Module& module, const SafetensorsFile& file, std::string_view prefix,
                  const LoadWeightsOptions& options) {
  const WeightsReport report = check_weights(module, shapes_under(file, prefix), options);
  if (!report.ok()) throw SafetensorsError(describe_weights_report(report, file.path().string(), prefix));

  torch::NoGradGuard no_grad;
  for (auto& [path, target] : module_tensors(module)) {
    if (target.device().is_meta()) continue;  // shape check only
    const WeightSource source = source_of(options, path);
    torch::Tensor value = load_tensor(file, file.at(std::string(prefix) + source.key));
    if (source.row_count >= 0) value = value.narrow(0, source.row_begin, source.row_count);
    if (source.reshape) value = value.reshape(target.sizes());
    target.copy_(value);
  }
}

}  // namespace diffgraph::models
