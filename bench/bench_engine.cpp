// bench_engine — the engine's own overhead, measured on a 1,000-node graph of trivial nodes so
// that nothing but the engine is timed:
//  * BM_ExecutorChain: a cold run of a 1,000-node chain (cache cleared every iteration);
//    the `per_node` counter is the executor's cost per node (validation, signatures, ordering,
//    input wiring, events). Target: ≤ 20 µs per node.
//  * BM_CachedRerun: the same chain with every node a target, all in the cache: signatures,
//    1,000 cache hits and their events. Target: ≤ 5 ms. BM_CachedRerunSingleTarget: the same
//    with only the last node a target (its hit cuts off the rest).
//  * BM_LoadGraphFile: reading and parsing the 1,000-node workflow from a file. Target: ≤ 20 ms.
//  * BM_ValidateGraph: validation alone, for reference.
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>

#include <diffgraph/engine.hpp>

namespace dg = diffgraph;

namespace {

constexpr int kNodes = 1000;

// a + step: the cheapest node that still has a literal input, a linked input and an output.
dg::NodeSpec increment_node() {
  dg::NodeSpec spec;
  spec.type = "Increment";
  spec.category = "bench";
  spec.inputs = {dg::InputSpec::integer("a", 0), dg::InputSpec::integer("step", 1).range(-1000, 1000)};
  spec.outputs = {{"INT", "INT", "a + step"}};
  spec.execute = [](dg::NodeContext& ctx) {
    ctx.set_output("INT", dg::make_value<dg::IntValue>(ctx.get_int("a") + ctx.get_int("step")));
  };
  return spec;
}

const dg::Registry& bench_registry() {
  static const dg::Registry* registry = [] {
    auto* r = new dg::Registry();
    r->add_node(increment_node(), "bench");
    return r;
  }();
  return *registry;
}

// n0 ← n1 ← … ← n999: each node adds its step to the previous node's output. Editor positions
// are included so the parse benchmark reads a realistic file.
dg::Graph chain_graph() {
  dg::Graph graph;
  for (int i = 0; i < kNodes; ++i) {
    dg::GraphNode node;
    node.id = std::to_string(i);
    node.type = "Increment";
    if (i == 0) node.inputs["a"] = dg::Literal(std::int64_t{0});
    else node.inputs["a"] = dg::Link{std::to_string(i - 1), "INT"};
    node.inputs["step"] = dg::Literal(std::int64_t{i % 7});
    node.editor = {{"pos", {40 * (i % 25), 120 * (i / 25)}}};
    graph.nodes.emplace(node.id, std::move(node));
  }
  return graph;
}

std::vector<std::string> all_ids(const dg::Graph& graph) {
  std::vector<std::string> ids;
  for (const auto& [id, _] : graph.nodes) ids.push_back(id);
  return ids;
}

void BM_ExecutorChain(benchmark::State& state) {
  const dg::Graph graph = chain_graph();
  dg::Executor executor(bench_registry());
  dg::RunOptions options;
  options.targets = {std::to_string(kNodes - 1)};
  options.on_event = [](const dg::NodeEvent& event) { benchmark::DoNotOptimize(event.kind); };
  for (auto _ : state) {
    executor.cache().clear();
    auto result = executor.run(graph, options);
    if (result.stats.executed.size() != kNodes) state.SkipWithError("not every node ran");
    benchmark::DoNotOptimize(result);
  }
  state.counters["per_node"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kNodes, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ExecutorChain)->Unit(benchmark::kMillisecond);

void BM_CachedRerun(benchmark::State& state) {
  const dg::Graph graph = chain_graph();
  dg::Executor executor(bench_registry());
  dg::RunOptions options;
  options.targets = all_ids(graph);
  options.on_event = [](const dg::NodeEvent& event) { benchmark::DoNotOptimize(event.kind); };
  executor.run(graph, options);  // fill the cache
  for (auto _ : state) {
    auto result = executor.run(graph, options);
    if (result.stats.cached.size() != kNodes) state.SkipWithError("not every node was cached");
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_CachedRerun)->Unit(benchmark::kMillisecond);

// The usual case: only the last node is a target; its cache hit cuts off everything upstream,
// so what remains is validation and the signatures of all 1,000 nodes.
void BM_CachedRerunSingleTarget(benchmark::State& state) {
  const dg::Graph graph = chain_graph();
  dg::Executor executor(bench_registry());
  dg::RunOptions options;
  options.targets = {std::to_string(kNodes - 1)};
  executor.run(graph, options);  // fill the cache
  for (auto _ : state) {
    auto result = executor.run(graph, options);
    if (result.stats.cached.size() != 1 || !result.stats.executed.empty()) state.SkipWithError("expected one cache hit");
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_CachedRerunSingleTarget)->Unit(benchmark::kMillisecond);

void BM_LoadGraphFile(benchmark::State& state) {
  const auto path = std::filesystem::temp_directory_path() / ("bench_engine_" + std::to_string(::getpid()) + ".json");
  dg::save_graph(chain_graph(), path);
  state.counters["bytes"] = static_cast<double>(std::filesystem::file_size(path));
  for (auto _ : state) {
    auto graph = dg::load_graph(path);
    if (graph.nodes.size() != kNodes) state.SkipWithError("wrong node count");
    benchmark::DoNotOptimize(graph);
  }
  std::filesystem::remove(path);
}
BENCHMARK(BM_LoadGraphFile)->Unit(benchmark::kMillisecond);

void BM_ValidateGraph(benchmark::State& state) {
  const dg::Graph graph = chain_graph();
  for (auto _ : state) {
    auto problems = dg::validate_graph(graph, bench_registry());
    if (!problems.empty()) state.SkipWithError("the benchmark graph is invalid");
    benchmark::DoNotOptimize(problems);
  }
}
BENCHMARK(BM_ValidateGraph)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
