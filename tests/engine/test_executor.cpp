#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>

#include "test_nodes.hpp"

using namespace diffgraph;
using namespace diffgraph::testing;
using nlohmann::json;

namespace {

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override { nodes.register_all(registry); }

  // const(1) -> add(2) -> add(3) -> sink(4); const(5) -> add(3).b
  Graph chain(int first = 1, int second = 10) {
    return graph_from({{"format", "diffgraph/1"},
                       {"nodes",
                        {{"1", {{"type", "Const"}, {"inputs", {{"value", first}}}}},
                         {"2", {{"type", "Add"}, {"inputs", {{"a", link_to("1", "INT")}}}}},
                         {"5", {{"type", "Const"}, {"inputs", {{"value", second}}}}},
                         {"3", {{"type", "Add"}, {"inputs", {{"a", link_to("2", "INT")}, {"b", link_to("5", "INT")}}}}},
                         {"4", {{"type", "Sink"}, {"inputs", {{"value", link_to("3", "INT")}}}}}}}});
  }

  static std::int64_t int_output(const RunResult& result, const std::string& node, const std::string& output) {
    return value_cast<IntValue>(result.outputs.at(node).at(output))->get();
  }

  Registry registry;
  TestNodes nodes;
  Executor executor{registry};
};

using Ids = std::vector<std::string>;

}  // namespace

TEST_F(ExecutorTest, RunsInDependencyOrderAndReturnsTargetOutputs) {
  RunResult result = executor.run(chain());
  EXPECT_EQ(result.stats.executed, (Ids{"1", "2", "5", "3", "4"}));
  EXPECT_TRUE(result.stats.cached.empty());
  EXPECT_EQ(int_output(result, "4", "value"), 11);
  ASSERT_EQ(result.results.at("4").size(), 1u);
  EXPECT_EQ(result.results.at("4")[0].at("text"), "11");
}

TEST_F(ExecutorTest, ChangingOneLiteralReexecutesExactlyThatNodeAndItsDownstream) {
  executor.run(chain(1, 10));
  RunResult rerun = executor.run(chain(1, 10));
  EXPECT_TRUE(rerun.stats.executed.empty());
  EXPECT_EQ(rerun.stats.cached, (Ids{"4"}));  // the cached target cuts off everything upstream

  RunResult changed = executor.run(chain(1, 20));
  EXPECT_EQ(changed.stats.executed, (Ids{"5", "3", "4"}));
  EXPECT_EQ(changed.stats.cached, (Ids{"2"}));  // node 1 is not even looked at: 2 is cached
  EXPECT_EQ(int_output(changed, "4", "value"), 21);
  EXPECT_EQ(nodes.runs["1"], 1);
  EXPECT_EQ(nodes.runs["2"], 1);
}

TEST_F(ExecutorTest, RunsOnlyWhatTheTargetsNeed) {
  RunOptions options;
  options.targets = {"2"};
  RunResult result = executor.run(chain(), options);
  EXPECT_EQ(result.stats.executed, (Ids{"1", "2"}));
  EXPECT_EQ(int_output(result, "2", "INT"), 1);
  EXPECT_EQ(nodes.runs.count("5"), 0u);
}

TEST_F(ExecutorTest, IdenticalBranchesShareOneCacheEntry) {
  Graph graph = graph_from({{"format", "diffgraph/1"},
                            {"nodes",
                             {{"a1", {{"type", "Const"}, {"inputs", {{"value", 4}}}}},
                              {"a2", {{"type", "Add"}, {"inputs", {{"a", link_to("a1", "INT")}}}}},
                              {"b1", {{"type", "Const"}, {"inputs", {{"value", 4}}}}},
                              {"b2", {{"type", "Add"}, {"inputs", {{"a", link_to("b1", "INT")}}}}},
                              {"s1", {{"type", "Sink"}, {"inputs", {{"value", link_to("a2", "INT")}}}}},
                              {"s2", {{"type", "Sink"}, {"inputs", {{"value", link_to("b2", "INT")}}}}}}}});
  RunResult result = executor.run(graph);
  // Node ids are not part of a signature: the second branch is served from the first's entries.
  EXPECT_EQ(result.stats.executed, (Ids{"a1", "a2", "s1"}));
  EXPECT_EQ(result.stats.cached, (Ids{"b1", "b2", "s2"}));
  EXPECT_EQ(executor.cache().entries(), 3u);
}

TEST_F(ExecutorTest, AFingerprintChangeReexecutesTheReadingNode) {
  const auto path = std::filesystem::temp_directory_path() / ("diffgraph_fp_" + std::to_string(::getpid()) + ".txt");
  { std::ofstream(path) << 5; }
  Graph graph = graph_from({{"format", "diffgraph/1"},
                            {"nodes",
                             {{"r", {{"type", "ReadInt"}, {"inputs", {{"path", path.string()}}}}},
                              {"s", {{"type", "Sink"}, {"inputs", {{"value", link_to("r", "INT")}}}}}}}});
  EXPECT_EQ(int_output(executor.run(graph), "s", "value"), 5);
  EXPECT_TRUE(executor.run(graph).stats.executed.empty());
  { std::ofstream(path) << 123; }  // same graph, different file
  RunResult after = executor.run(graph);
  EXPECT_EQ(after.stats.executed, (Ids{"r", "s"}));
  EXPECT_EQ(int_output(after, "s", "value"), 123);
  std::filesystem::remove(path);
  // A missing file is an error naming the node.
  try {
    executor.run(graph);
    FAIL();
  } catch (const ExecutionError& e) {
    EXPECT_EQ(e.node_id(), "r");
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos);
  }
}

TEST_F(ExecutorTest, AnErrorNamesTheNodeAndKeepsUpstreamResultsCached) {
  auto graph_with = [](int value) {
    return graph_from({{"format", "diffgraph/1"},
                       {"nodes",
                        {{"c", {{"type", "Const"}, {"inputs", {{"value", 3}}}}},
                         {"k", {{"type", "Const"}, {"inputs", {{"value", value}}}}},
                         {"add", {{"type", "Add"}, {"inputs", {{"a", link_to("c", "INT")}, {"b", link_to("k", "INT")}}}}},
                         {"check", {{"type", "FailIfNegative"}, {"inputs", {{"x", link_to("add", "INT")}}}}},
                         {"s", {{"type", "Sink"}, {"inputs", {{"value", link_to("check", "INT")}}}}}}}});
  };
  std::vector<NodeEvent> events;
  RunOptions options;
  options.on_event = [&](const NodeEvent& e) { events.push_back(e); };
  try {
    executor.run(graph_with(-10), options);
    FAIL();
  } catch (const ExecutionError& e) {
    EXPECT_EQ(e.node_id(), "check");
    EXPECT_EQ(e.node_type(), "FailIfNegative");
    EXPECT_EQ(e.reason(), "x is negative");
    EXPECT_EQ(std::string(e.what()), "node check (FailIfNegative) failed: x is negative");
  }
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().kind, NodeEvent::Kind::Failed);
  EXPECT_EQ(events.back().node_id, "check");
  // The same graph again: everything before the failure comes from the cache.
  try {
    executor.run(graph_with(-10));
    FAIL();
  } catch (const ExecutionError&) {
  }
  EXPECT_EQ(nodes.runs["add"], 1);
  EXPECT_EQ(nodes.runs["check"], 2);
  RunResult fixed = executor.run(graph_with(10));
  EXPECT_EQ(fixed.stats.executed, (Ids{"k", "add", "check", "s"}));
  EXPECT_EQ(nodes.runs["c"], 1);
}

TEST_F(ExecutorTest, CancellationStopsBetweenNodes) {
  CancelToken cancel;
  RunOptions options;
  options.cancel = &cancel;
  options.on_event = [&](const NodeEvent& e) {
    if (e.kind == NodeEvent::Kind::Finished && e.node_id == "2") cancel.cancel();
  };
  EXPECT_THROW(executor.run(chain(), options), Cancelled);
  EXPECT_EQ(nodes.runs["1"], 1);
  EXPECT_EQ(nodes.runs["2"], 1);
  EXPECT_EQ(nodes.runs.count("3"), 0u);
  // What finished before the cancellation is cached.
  cancel.reset();
  RunResult resumed = executor.run(chain(), options);
  EXPECT_EQ(resumed.stats.executed, (Ids{"5", "3", "4"}));
}

TEST_F(ExecutorTest, CancellationStopsInsideANodeAtItsNextProgressStep) {
  Graph graph = graph_from({{"format", "diffgraph/1"},
                            {"nodes",
                             {{"c", {{"type", "Const"}}},
                              {"st", {{"type", "Steps"}, {"inputs", {{"x", link_to("c", "INT")}, {"steps", 50}}}}},
                              {"s", {{"type", "Sink"}, {"inputs", {{"value", link_to("st", "INT")}}}}}}}});
  CancelToken cancel;
  std::vector<int> steps;
  RunOptions options;
  options.cancel = &cancel;
  options.on_event = [&](const NodeEvent& e) {
    if (e.kind != NodeEvent::Kind::Progress) return;
    steps.push_back(e.step);
    EXPECT_EQ(e.total, 50);
    if (e.step == 3) cancel.cancel();
  };
  EXPECT_THROW(executor.run(graph, options), Cancelled);
  EXPECT_EQ(steps, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(nodes.runs.count("s"), 0u);
}

TEST_F(ExecutorTest, CachedValuesNeverSeeLaterChanges) {
  Graph graph = graph_from({{"format", "diffgraph/1"},
                            {"nodes",
                             {{"l", {{"type", "MakeList"}, {"inputs", {{"size", 2}}}}},
                              {"a", {{"type", "Append"}, {"inputs", {{"list", link_to("l", "INTLIST")}}}}},
                              {"s", {{"type", "Sink"}, {"inputs", {{"value", link_to("a", "INTLIST")}}}}}}}});
  executor.run(graph);
  RunOptions only_list;
  only_list.targets = {"l"};
  RunResult list = executor.run(graph, only_list);
  EXPECT_TRUE(list.stats.executed.empty());
  EXPECT_EQ(value_cast<IntListValue>(list.outputs.at("l").at("INTLIST"))->items.size(), 2u);
}

TEST_F(ExecutorTest, SameGraphSameOutputs) {
  Executor other(registry);
  EXPECT_EQ(int_output(executor.run(chain(3, 4)), "4", "value"), int_output(other.run(chain(3, 4)), "4", "value"));
}

TEST_F(ExecutorTest, EventsReportEveryNode) {
  std::vector<std::pair<NodeEvent::Kind, std::string>> events;
  RunOptions options;
  options.on_event = [&](const NodeEvent& e) { events.push_back({e.kind, e.node_id}); };
  executor.run(chain(), options);
  int started = 0, finished = 0;
  for (auto& [kind, id] : events) {
    started += kind == NodeEvent::Kind::Started;
    finished += kind == NodeEvent::Kind::Finished;
  }
  EXPECT_EQ(started, 5);
  EXPECT_EQ(finished, 5);
  events.clear();
  executor.run(chain(), options);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], std::make_pair(NodeEvent::Kind::Cached, std::string("4")));
}

TEST_F(ExecutorTest, RunsOnABackgroundThreadWhileAnotherThreadReceivesEvents) {
  std::mutex mutex;
  std::vector<std::string> received;
  RunOptions options;
  options.on_event = [&](const NodeEvent& e) {
    std::lock_guard lock(mutex);
    received.push_back(e.node_id);
  };
  auto future = std::async(std::launch::async, [&] { return executor.run(chain(), options); });
  RunResult result = future.get();
  EXPECT_EQ(int_output(result, "4", "value"), 11);
  std::lock_guard lock(mutex);
  EXPECT_EQ(received.size(), 10u);
}

TEST_F(ExecutorTest, InvalidGraphsAreRejectedBeforeAnythingRuns) {
  Graph graph = graph_from({{"format", "diffgraph/1"},
                            {"nodes",
                             {{"1", {{"type", "Const"}}},
                              {"2", {{"type", "Sink"}, {"inputs", {{"value", link_to("9", "INT")}}}}}}}});
  EXPECT_THROW(executor.run(graph), GraphError);
  EXPECT_TRUE(nodes.runs.empty());
}

TEST_F(ExecutorTest, AGraphWithoutOutputNodesNeedsTargets) {
  Graph graph = graph_from({{"format", "diffgraph/1"}, {"nodes", {{"1", {{"type", "Const"}}}}}});
  EXPECT_THROW(executor.run(graph), GraphError);
  RunOptions options;
  options.targets = {"1"};
  EXPECT_EQ(int_output(executor.run(graph, options), "1", "INT"), 0);
}

// Bypass: const(1)=5 -> add(2, mode minus, b=const(3)=1) -> sink(4). Bypassing 2 feeds its
// first linked INT input (a) straight to the sink.
class BypassTest : public ExecutorTest {
 protected:
  Graph graph(bool bypass_add, bool bypass_sink = false) {
    json j = {{"format", "diffgraph/1"},
              {"nodes",
               {{"1", {{"type", "Const"}, {"inputs", {{"value", 5}}}}},
                {"3", {{"type", "Const"}, {"inputs", {{"value", 1}}}}},
                {"2", {{"type", "Add"}, {"inputs", {{"a", link_to("1", "INT")}, {"b", link_to("3", "INT")}, {"mode", "minus"}}}}},
                {"4", {{"type", "Sink"}, {"inputs", {{"value", link_to("2", "INT")}}}}}}}};
    if (bypass_add) j["nodes"]["2"]["bypass"] = true;
    if (bypass_sink) j["nodes"]["4"]["bypass"] = true;
    return graph_from(j);
  }
};

TEST_F(BypassTest, ABypassedNodePassesItsFirstInputOfTheSameTypeThrough) {
  EXPECT_EQ(int_output(executor.run(graph(false)), "4", "value"), 4);
  RunResult result = executor.run(graph(true));
  EXPECT_EQ(int_output(result, "4", "value"), 5);
  EXPECT_EQ(nodes.runs.at("2"), 1);  // only the unbypassed run executed it
  EXPECT_EQ(std::count(result.stats.executed.begin(), result.stats.executed.end(), "2"), 0);
  EXPECT_TRUE(validate_graph(graph(true), registry).empty());
}

TEST_F(BypassTest, ChainsOfBypassedNodesResolveAndTheWorkflowKeepsTheFlag) {
  // const(1) -> add(2, bypassed) -> fail(5, bypassed) -> sink(4)
  Graph g = graph(true);
  GraphNode pass;
  pass.id = "5";
  pass.type = "FailIfNegative";
  pass.bypass = true;
  pass.inputs["x"] = Link{"2", "INT"};
  g.nodes["5"] = pass;
  g.nodes["4"].inputs["value"] = Link{"5", "INT"};
  std::vector<Diagnostic> problems;
  Graph resolved = resolve_bypass(g, registry, problems);
  EXPECT_TRUE(problems.empty());
  EXPECT_FALSE(resolved.nodes.count("2"));
  EXPECT_FALSE(resolved.nodes.count("5"));
  EXPECT_EQ(std::get<Link>(resolved.nodes.at("4").inputs.at("value")), (Link{"1", "INT"}));
  EXPECT_EQ(int_output(executor.run(g), "4", "value"), 5);
}

TEST_F(BypassTest, AnOutputWithNothingToPassThroughIsAValidationErrorNamingTheNode) {
  Graph g = graph(false);
  g.nodes["1"].bypass = true;  // Const has no inputs: its INT output has no source
  auto problems = validate_graph(g, registry);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].node_id, "1");
  EXPECT_NE(problems[0].message.find("bypassed node 1 (Const) cannot pass output 'INT' through"), std::string::npos)
      << problems[0].message;
  EXPECT_THROW(executor.run(g), GraphError);
  EXPECT_TRUE(nodes.runs.empty());
  // An unused output of a bypassed node is no problem.
  g.nodes["2"].inputs.erase("a");
  g.nodes["2"].inputs["a"] = Link{"3", "INT"};
  EXPECT_TRUE(validate_graph(g, registry).empty());
}

TEST_F(BypassTest, ABypassedOutputNodeIsNotATarget) {
  EXPECT_THROW(executor.run(graph(false, true)), GraphError);  // no output node left
  RunOptions options;
  options.targets = {"4"};
  EXPECT_THROW(executor.run(graph(false, true), options), GraphError);
  options.targets = {"2"};
  EXPECT_EQ(int_output(executor.run(graph(false, true), options), "2", "INT"), 4);
}
