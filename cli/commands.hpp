/// @file commands.hpp
/// The subcommands of `diffgraph`, one file each, and what they share.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <diffgraph/registry.hpp>

#include "exit_codes.hpp"

namespace diffgraph::cli {

/// A command line that parses but makes no sense (e.g. `--set` naming a node the graph lacks).
/// Exits with kExitUsage.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The exit status a subcommand's callback chose without throwing (e.g. `validate` found
/// problems and printed them).
struct CommandOutcome {
  int exit_code = kExitOk;
};

/// Registers each subcommand on `app`. The callbacks run during app.parse(); they throw the
/// engine's errors, which main() turns into exit codes.
void add_run_command(CLI::App& app, CommandOutcome& outcome);
void add_nodes_command(CLI::App& app, CommandOutcome& outcome);
void add_plugins_command(CLI::App& app, CommandOutcome& outcome);
void add_validate_command(CLI::App& app, CommandOutcome& outcome);
void add_info_command(CLI::App& app, CommandOutcome& outcome);

/// Adds the repeatable `--plugins DIR` option to a subcommand.
void add_plugins_option(CLI::App& command, std::vector<std::string>& dirs);

/// Loads every plugin found on plugin_search_path(extra_dirs) into `registry`. A plugin that
/// fails to load never stops the command: when `warn` is set, each failure is printed on
/// stderr as a warning naming the file and the reason.
std::vector<PluginInfo> load_plugins_for_command(Registry& registry, const std::vector<std::string>& extra_dirs,
                                                 bool warn);

}  // namespace diffgraph::cli
