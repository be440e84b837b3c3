// diffgraph: the headless front end. Parses the command line, runs the chosen subcommand and
// turns its errors into the documented exit codes (exit_codes.hpp, docs/cli.md).
#include <fmt/format.h>

#include <diffgraph/abi.hpp>
#include <diffgraph/errors.hpp>

#include "commands.hpp"

int main(int argc, char** argv) {
  using namespace diffgraph;
  using namespace diffgraph::cli;

  CLI::App app("diffgraph: run Stable Diffusion and other node-graph workflows", "diffgraph");
  app.set_version_flag("--version", fmt::format("diffgraph {} (plugin ABI {})", engine_version(), kAbiVersion));
  app.require_subcommand(1);
  CommandOutcome outcome;
  add_run_command(app, outcome);
  add_validate_command(app, outcome);
  add_nodes_command(app, outcome);
  add_plugins_command(app, outcome);
  add_info_command(app, outcome);

  try {
    app.parse(argc, argv);
    return outcome.exit_code;
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, the version or the usage problem
    return code == 0 ? kExitOk : kExitUsage;
  } catch (const UsageError& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return kExitUsage;
  } catch (const GraphError& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return kExitInvalidGraph;
  } catch (const ExecutionError& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return kExitExecution;
  } catch (const Cancelled&) {
    fmt::print(stderr, "cancelled\n");
    return kExitCancelled;
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return kExitFailure;
  }
}
