// `diffgraph validate`: checks a workflow against the loaded node types without running it.
#include <fmt/format.h>

#include <diffgraph/errors.hpp>
#include <diffgraph/validation.hpp>

#include "commands.hpp"
#include <diffgraph/workflow_file.hpp>

namespace diffgraph::cli {

namespace {

struct ValidateOptions {
  std::string graph;
  std::vector<std::string> plugin_dirs;
};

int validate(const ValidateOptions& options) {
  Registry registry;
  load_plugins_for_command(registry, options.plugin_dirs, true);
  std::vector<Diagnostic> problems;
  try {
    problems = validate_graph(load_workflow_file(options.graph), registry);
  } catch (const GraphError& e) {
    problems = e.diagnostics();  // a file that does not even parse
  }
  if (problems.empty()) {
    fmt::print("valid\n");
    return kExitOk;
  }
  fmt::print("{}: {} problem{}\n", options.graph, problems.size(), problems.size() == 1 ? "" : "s");
  for (const auto& problem : problems) fmt::print("  {}\n", problem.to_string());
  return kExitInvalidGraph;
}

}  // namespace

void add_validate_command(CLI::App& app, CommandOutcome& outcome) {
  auto options = std::make_shared<ValidateOptions>();
  CLI::App* command = app.add_subcommand("validate", "Check a workflow without running it: prints \"valid\" or every problem");
  command->add_option("GRAPH", options->graph, "Workflow file (diffgraph/1 JSON, or a PNG saved by diffgraph)")
      ->required();
  add_plugins_option(*command, options->plugin_dirs);
  command->callback([options, &outcome] { outcome.exit_code = validate(*options); });
}

}  // namespace diffgraph::cli
