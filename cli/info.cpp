// `diffgraph info`: what a model file holds. The runner links the engine only, so the plugins
// that load models describe them: each registered file inspector is asked in turn (the diffusion
// plugin's describe a checkpoint's architecture and component configs, or any other .safetensors
// file's header).
#include <fmt/format.h>

#include <memory>
#include <optional>

#include <diffgraph/registry.hpp>

#include "commands.hpp"

namespace diffgraph::cli {

namespace {

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
  throw std::runtime_error(path.string() + " is a file no loaded plugin recognises" +
                           (registry.file_inspectors().empty() ? " (no plugin that describes files is loaded)" : ""));
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
