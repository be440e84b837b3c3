// `diffgraph plugins`: which plugins were found, loaded or refused, and why. Also the plugin
// loading every other subcommand shares.
#include <fmt/format.h>

#include <diffgraph/plugin_loader.hpp>

#include "commands.hpp"

namespace diffgraph::cli {

void add_plugins_option(CLI::App& command, std::vector<std::string>& dirs) {
  // One folder per occurrence, so `--plugins DIR GRAPH` leaves GRAPH to the positional.
  command.add_option("--plugins", dirs, "Also load plugins from DIR (repeatable; searched first)")
      ->type_name("DIR")
      ->allow_extra_args(false);
}

std::vector<PluginInfo> load_plugins_for_command(Registry& registry, const std::vector<std::string>& extra_dirs,
                                                 bool warn) {
  std::vector<std::filesystem::path> extra(extra_dirs.begin(), extra_dirs.end());
  for (const auto& dir : extra) {
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec))
      fmt::print(stderr, "warning: plugin folder {} does not exist\n", dir.string());
  }
  auto infos = load_plugins(registry, plugin_search_path(extra));
  if (warn) {
    for (const auto& info : infos)
      if (!info.loaded) fmt::print(stderr, "warning: plugin {} was not loaded: {}\n", info.path.string(), info.error);
  }
  return infos;
}

namespace {

struct PluginsOptions {
  std::vector<std::string> plugin_dirs;
};

void list_plugins(const PluginsOptions& options) {
  Registry registry;
  const std::vector<std::filesystem::path> extra(options.plugin_dirs.begin(), options.plugin_dirs.end());
  const auto search_path = plugin_search_path(extra);
  const auto infos = load_plugins_for_command(registry, options.plugin_dirs, false);

  fmt::print("search path:\n");
  for (const auto& dir : search_path) fmt::print("  {}\n", dir.string());

  std::size_t loaded = 0;
  for (const auto& info : infos) loaded += info.loaded;
  fmt::print("loaded plugins ({}):\n", loaded);
  if (loaded == 0) fmt::print("  none\n");
  for (const auto& info : infos) {
    if (!info.loaded) continue;
    fmt::print("  {} {}  {} node{}  {}\n", info.name, info.version.empty() ? "(no version)" : info.version,
               info.node_types.size(), info.node_types.size() == 1 ? "" : "s", info.path.string());
    if (!info.description.empty()) fmt::print("    {}\n", info.description);
  }
  if (loaded < infos.size()) {
    fmt::print("failed plugins ({}):\n", infos.size() - loaded);
    for (const auto& info : infos)
      if (!info.loaded) fmt::print("  {}  {}\n    {}\n", info.name, info.path.string(), info.error);
  }
}

}  // namespace

void add_plugins_command(CLI::App& app, CommandOutcome& /*outcome*/) {
  auto options = std::make_shared<PluginsOptions>();
  CLI::App* command = app.add_subcommand("plugins", "List the plugins found: loaded ones and refused ones with the reason");
  add_plugins_option(*command, options->plugin_dirs);
  command->callback([options] { list_plugins(*options); });
}

}  // namespace diffgraph::cli
