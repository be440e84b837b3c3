// `diffgraph info`: what a checkpoint file holds. With the model runtime (LibTorch builds) it
// prints the detected architecture and component configs; without it, the safetensors header:
// tensor count, dtypes and metadata.
#include <fmt/format.h>

#include <map>

#include "commands.hpp"

#if DIFFGRAPH_CLI_WITH_CHECKPOINT
#include "checkpoint.hpp"
#else
#include "safetensors.hpp"
#endif

namespace diffgraph::cli {

namespace {

#if DIFFGRAPH_CLI_WITH_CHECKPOINT

void print_info(const std::filesystem::path& path) {
  fmt::print("{}", models::describe(models::inspect_checkpoint(path)));
}

#else

// Metadata values can be whole JSON configs; a summary shows their start.
constexpr std::size_t kMaxMetadataChars = 200;

void print_info(const std::filesystem::path& path) {
  if (std::filesystem::is_directory(path))
    throw std::runtime_error(path.string() +
                             " is a folder: reading diffusers folders needs the model runtime (a LibTorch build)");
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
  fmt::print("architecture: not detected (this diffgraph was built without the model runtime)\n");
}

#endif

}  // namespace

void add_info_command(CLI::App& app, CommandOutcome& /*outcome*/) {
  auto file = std::make_shared<std::string>();
  CLI::App* command = app.add_subcommand("info", "Describe a checkpoint: architecture, config and tensor count");
  command->add_option("FILE", *file, "A .safetensors checkpoint (or a diffusers folder)")->required();
  command->callback([file] { print_info(*file); });
}

}  // namespace diffgraph::cli
