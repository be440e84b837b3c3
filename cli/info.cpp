// `diffgraph info`: what a model file holds. The runner links the engine only, so the plugins
// that load models describe them: each registered file inspector is asked in turn (the diffusion
// plugin's prints a checkpoint's architecture and component configs). A .safetensors file no
// plugin recognises still gets its header summarised: tensor count, dtypes and metadata.
#include <fmt/format.h>

#include <map>
#include <memory>
#include <optional>

#include <diffgraph/registry.hpp>

#include "commands.hpp"
#include "models/safetensors.hpp"

namespace diffgraph::cli {

namespace {

// Metadata values can be whole JSON configs; a summary shows their start.
constexpr std::size_t kMaxMetadataChars = 200;

void print_safetensors_summary(const std::filesystem::path& path) {
  const auto file = models::SafetensorsFile::open(path);
  std::map<std::string, std::size_t> dtype_counts;
  std::uint64_t bytes = 0;
  std::int64_t parameters = 0;
  for (const auto& tensor : file.tensors()) {
    ++dtype_counts[std::string(models::dtype_name(tensor.dtype))];
    bytes += tensor.byte_size();
    parameters += tensor.numel();
  }
  fmt::print("file: {}\n", path.string());
  fmt::print("tensors: {} ({} parameters, {:.1f} MiB)\n", file.tensors().size(), parameters,
             static_cast<double>(bytes) / (1024.0 * 1024.0));
  fmt::print("dtypes:");
  for (const auto& [dtype, count] : dtype_counts) fmt::print(" {} x{}", dtype, count);
  fmt::print("\n");
  fmt::print("metadata: {}\n", file.metadata().empty() ? "none" : std::to_string(file.metadata().size()) + " entries");
  for (const auto& [key, value] : file.metadata()) {
    const bool cut = value.size() > kMaxMetadataChars;
    fmt::print("  {}: {}{}\n", key, cut ? value.substr(0, kMaxMetadataChars) : value, cut ? "..." : "");
  }
}

struct InfoOptions {
  std::string file;
  std::vector<std::string> plugin_dirs;
};

void print_info(const InfoOptions& options) {
  const std::filesystem::path path = options.file;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw UsageError(path.string() + " does not exist");
  Registry registry;
  load_plugins_for_command(registry, options.plugin_dirs, true);
  for (const auto& inspector : registry.file_inspectors()) {
    std::optional<std::string> description;
    try {
      description = inspector.inspect(path);
    } catch (const std::exception& e) {
      throw std::runtime_error(path.string() + " (read as a " + inspector.name + "): " + e.what());
    }
    if (description) {
      fmt::print("{}", *description);
      return;
    }
  }
  if (std::filesystem::is_directory(path, ec)) {
    throw std::runtime_error(path.string() + " is a folder no loaded plugin recognises" +
                             (registry.file_inspectors().empty() ? " (no plugin that describes files is loaded)" : ""));
  }
  print_safetensors_summary(path);
  fmt::print("architecture: not recognised by any loaded plugin{}\n",
             registry.file_inspectors().empty() ? " (no plugin that describes files is loaded)" : "");
}

}  // namespace

void add_info_command(CLI::App& app, CommandOutcome& /*outcome*/) {
  auto options = std::make_shared<InfoOptions>();
  CLI::App* command = app.add_subcommand("info", "Describe a model file: architecture, config and tensor count");
  command->add_option("FILE", options->file, "A .safetensors checkpoint or a diffusers folder")->required();
  add_plugins_option(*command, options->plugin_dirs);
  command->callback([options] { print_info(*options); });
}

}  // namespace diffgraph::cli
