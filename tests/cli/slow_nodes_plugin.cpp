// A plugin for the CLI tests only: nodes that take a known, adjustable time, so cancellation
// can be tested deterministically. Never installed.
#include <chrono>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <diffgraph/plugin.hpp>

using namespace diffgraph;

namespace {

// Counts to `steps`, sleeping `step_ms` per step and reporting each step: the run can be
// cancelled at any step. `steps` has a range, so the tests can also check range validation.
NodeSpec slow_count_node() {
  NodeSpec spec;
  spec.type = "SlowCount";
  spec.category = "testing";
  spec.description = "Counts to `steps`, sleeping `step_ms` per step and reporting progress.";
  spec.output_node = true;
  spec.inputs = {InputSpec::integer("steps", 10).range(1, 100000), InputSpec::integer("step_ms", 10).range(0, 10000)};
  spec.outputs = {{"INT", "INT", "the number of steps counted"}};
  spec.execute = [](NodeContext& ctx) {
    const auto steps = ctx.get_int("steps");
    const auto step_ms = ctx.get_int("step_ms");
    for (std::int64_t step = 1; step <= steps; ++step) {
      std::this_thread::sleep_for(std::chrono::milliseconds(step_ms));
      ctx.progress(static_cast<int>(step), static_cast<int>(steps));
    }
    ctx.add_result({{"counted", steps}});
    ctx.set_output("INT", make_value<IntValue>(steps));
  };
  return spec;
}

// Sleeps without ever reporting progress: only a second Ctrl-C can stop it early.
NodeSpec sleep_node() {
  NodeSpec spec;
  spec.type = "Sleep";
  spec.category = "testing";
  spec.description = "Sleeps `ms` milliseconds without reporting progress.";
  spec.output_node = true;
  spec.inputs = {InputSpec::integer("ms", 1000).range(0, 600000)};
  spec.execute = [](NodeContext& ctx) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ctx.get_int("ms")));
    ctx.add_result({{"slept_ms", ctx.get_int("ms")}});
  };
  return spec;
}

// Warns, then shows its text: the CLI must print the warning.
NodeSpec warn_node() {
  NodeSpec spec;
  spec.type = "WarnText";
  spec.category = "testing";
  spec.description = "Emits `text` as a warning and as a result.";
  spec.output_node = true;
  spec.inputs = {InputSpec::text("text", "careful")};
  spec.execute = [](NodeContext& ctx) {
    ctx.warn(ctx.get_string("text"));
    ctx.add_result({{"text", ctx.get_string("text")}});
  };
  return spec;
}

}  // namespace

DIFFGRAPH_PLUGIN(registrar) {
  registrar.set_info("cli_test_nodes", "1.0", "Slow and warning nodes for the CLI tests");
  registrar.add_node(slow_count_node());
  registrar.add_node(sleep_node());
  registrar.add_node(warn_node());
  // `diffgraph info` asks plugins to describe files: *.testinfo files are described by their
  // first line, *.badinfo files are recognised but unreadable.
  registrar.add_file_inspector({"testinfo", "test files", [](const std::filesystem::path& path) -> std::optional<std::string> {
                                  if (path.extension() == ".badinfo") throw std::runtime_error("the test inspector cannot read it");
                                  if (path.extension() != ".testinfo") return std::nullopt;
                                  std::ifstream in(path);
                                  std::string line;
                                  std::getline(in, line);
                                  return "test file saying: " + line + "\n";
                                }});
}
