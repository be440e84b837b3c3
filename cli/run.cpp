// `diffgraph run`: loads plugins and a workflow, applies --set overrides, validates and runs
// it with live progress, then prints what the output nodes produced.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <diffgraph/engine.hpp>

#include "commands.hpp"
#include "progress.hpp"
#include <diffgraph/workflow_file.hpp>

namespace diffgraph::cli {

namespace {

struct RunCommandOptions {
  std::string graph;
  std::vector<std::string> sets;
  std::string output_dir = "output";
  std::vector<std::string> plugin_dirs;
  std::vector<std::string> model_dirs;
  int threads = 0;
  bool json_events = false;
  std::string device = "cpu";
  std::string dtype = "fp32";
};

// --- Ctrl-C -----------------------------------------------------------------------------------
// The first SIGINT asks the run to stop at the next node or progress step; a second one ends
// the process at once (for a node that never reports progress).

CancelToken* g_cancel_token = nullptr;
volatile sig_atomic_t g_interrupts = 0;

void write_stderr(const char* text) {
  // write(2) is async-signal-safe; stdio is not.
  std::size_t length = 0;
  while (text[length]) ++length;
  [[maybe_unused]] ssize_t ignored = ::write(STDERR_FILENO, text, length);
}

extern "C" void on_interrupt(int) {
  if (g_interrupts > 0) {
    write_stderr("\ninterrupted\n");
    ::_exit(kExitCancelled);
  }
  g_interrupts = 1;
  if (g_cancel_token) g_cancel_token->cancel();
  write_stderr("\ncancelling at the next step (press Ctrl-C again to quit at once)\n");
}

// Routes SIGINT to a token for as long as it lives, then restores the previous handler.
class InterruptToCancel {
 public:
  explicit InterruptToCancel(CancelToken& token) {
    g_cancel_token = &token;
    g_interrupts = 0;
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &action, &previous_);
  }
  ~InterruptToCancel() {
    ::sigaction(SIGINT, &previous_, nullptr);
    g_cancel_token = nullptr;
  }
  InterruptToCancel(const InterruptToCancel&) = delete;
  InterruptToCancel& operator=(const InterruptToCancel&) = delete;

 private:
  struct sigaction previous_ {};
};

// --- setting up the run -------------------------------------------------------------------------

// NODE.INPUT=VALUE. The input name is after the last '.', so node ids may contain dots.
void apply_set(Graph& graph, const Registry& registry, const std::string& assignment) {
  const auto equals = assignment.find('=');
  const auto dot = assignment.rfind('.', equals);
  if (equals == std::string::npos || dot == std::string::npos || dot == 0 || dot + 1 == equals)
    throw UsageError("--set " + assignment + ": expected NODE.INPUT=VALUE");
  const std::string node_id = assignment.substr(0, dot);
  const std::string input = assignment.substr(dot + 1, equals - dot - 1);
  const std::string text = assignment.substr(equals + 1);
  GraphNode* node = graph.find(node_id);
  if (!node) throw UsageError("--set " + assignment + ": the graph has no node '" + node_id + "'");
  Literal value = parse_literal_text(text);
  // "--set 4.text=42" on a text input means the text "42": the input's declared type decides.
  if (const NodeSpec* spec = registry.find_node(node->type))
    if (const InputSpec* declared = spec->find_input(input))
      if (declared->type == builtin_types::kString && !std::holds_alternative<std::string>(value)) value = text;
  node->inputs[input] = std::move(value);
}

Environment make_environment(const RunCommandOptions& options) {
  Environment environment;
  environment.output_dir = options.output_dir;
  environment.model_dirs = model_search_path({options.model_dirs.begin(), options.model_dirs.end()});
  environment.settings["device"] = options.device;
  environment.settings["dtype"] = options.dtype;
  environment.threads = options.threads;
  return environment;
}

// --- reporting ----------------------------------------------------------------------------------

std::string result_value_text(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void print_results(const Graph& graph, const RunResult& result, const RunTally& tally) {
  for (const auto& [node_id, warnings] : result.warnings) {
    if (tally.warned.count(node_id)) continue;  // shown live already
    const GraphNode* node = graph.find(node_id);
    for (const auto& warning : warnings)
      fmt::print(stderr, "warning: node {} ({}): {}\n", node_id, node ? node->type : "?", warning);
  }
  for (const auto& [node_id, results] : result.results) {
    const GraphNode* node = graph.find(node_id);
    for (const auto& entry : results) {
      if (!entry.is_object()) {
        fmt::print("{} ({}): {}\n", node_id, node ? node->type : "?", result_value_text(entry));
        continue;
      }
      for (const auto& [key, value] : entry.items())
        fmt::print("{} ({}) {}: {}\n", node_id, node ? node->type : "?", key, result_value_text(value));
    }
  }
  fmt::print("executed {}, cached {} in {:.3f} s\n", result.stats.executed.size(), result.stats.cached.size(),
             result.stats.seconds);
}

nlohmann::ordered_json summary_json(const RunTally& tally, const RunResult* result, const std::string& status,
                                    int exit_code, const std::string& error, double seconds) {
  nlohmann::ordered_json summary{{"kind", "summary"},          {"status", status},          {"exit_code", exit_code},
                         {"executed", tally.executed}, {"cached", tally.cached},    {"failed", tally.failed},
                         {"seconds", result ? result->stats.seconds : seconds}};
  summary["results"] = nlohmann::ordered_json::object();
  summary["warnings"] = nlohmann::ordered_json::object();
  if (result) {
    for (const auto& [node_id, results] : result->results) summary["results"][node_id] = results;
    for (const auto& [node_id, warnings] : result->warnings) summary["warnings"][node_id] = warnings;
  }
  if (!error.empty()) summary["error"] = error;
  return summary;
}

int run_graph(const RunCommandOptions& options) {
  Registry registry;
  load_plugins_for_command(registry, options.plugin_dirs, true);

  RunTally tally;
  const auto start = std::chrono::steady_clock::now();
  // With --json-events every outcome ends with a summary object on stdout, failures included,
  // so a program reading the stream always learns how the run ended.
  auto report_failure = [&](const std::string& status, int exit_code, const std::exception& e) {
    if (options.json_events) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      write_json_line(stdout, summary_json(tally, nullptr, status, exit_code, e.what(), seconds));
    }
  };

  try {
    Graph graph = load_workflow_file(options.graph);
    for (const auto& assignment : options.sets) apply_set(graph, registry, assignment);
    require_valid(graph, registry, options.graph);

    RunOptions run_options;
    run_options.environment = make_environment(options);
    CancelToken cancel;
    run_options.cancel = &cancel;
    ProgressDisplay display(stderr, stderr_is_terminal());
    run_options.on_event = [&](const NodeEvent& event) {
      tally.record(event);
      if (options.json_events) write_json_line(stdout, event_json(event));
      else display.on_event(event);
    };

    Executor executor(registry);
    RunResult result;
    {
      InterruptToCancel interrupts(cancel);
      try {
        result = executor.run(graph, run_options);
      } catch (...) {
        display.clear_line();
        throw;
      }
    }
    if (options.json_events) write_json_line(stdout, summary_json(tally, &result, "ok", kExitOk, {}, 0));
    else print_results(graph, result, tally);
    return kExitOk;
  } catch (const UsageError& e) {
    report_failure("usage", kExitUsage, e);
    throw;
  } catch (const GraphError& e) {
    report_failure("invalid", kExitInvalidGraph, e);
    throw;
  } catch (const ExecutionError& e) {
    report_failure("failed", kExitExecution, e);
    throw;
  } catch (const Cancelled& e) {
    report_failure("cancelled", kExitCancelled, e);
    throw;
  } catch (const std::exception& e) {
    report_failure("error", kExitFailure, e);
    throw;
  }
}

}  // namespace

void add_run_command(CLI::App& app, CommandOutcome& outcome) {
  auto options = std::make_shared<RunCommandOptions>();
  CLI::App* command = app.add_subcommand("run", "Run a workflow and print what its output nodes produced");
  command->add_option("GRAPH", options->graph, "Workflow file (diffgraph/1 JSON, or a PNG saved by diffgraph)")
      ->required();
  command->add_option("--set", options->sets, "Override a literal input before running (repeatable)")
      ->type_name("NODE.INPUT=VALUE")
      ->allow_extra_args(false);
  command->add_option("--output-dir", options->output_dir, "Folder output nodes write into")
      ->type_name("DIR")
      ->capture_default_str();
  add_plugins_option(*command, options->plugin_dirs);
  command->add_option("--models", options->model_dirs,
                      "Also look for model files in DIR (repeatable; before $DIFFGRAPH_MODELS and ./models)")
      ->type_name("DIR")
      ->allow_extra_args(false);
  command->add_option("--threads", options->threads, "Compute threads for nodes that use them (0 = all cores)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command->add_flag("--json-events", options->json_events,
                    "Print one JSON object per event on stdout, then a summary object");
  command->add_option("--device", options->device, "Where model nodes compute")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  command->add_option("--dtype", options->dtype, "Precision model nodes compute in")
      ->check(CLI::IsMember({"fp32", "fp16", "bf16"}))
      ->capture_default_str();
  command->callback([options, &outcome] { outcome.exit_code = run_graph(*options); });
}

}  // namespace diffgraph::cli
