// Running from the editor: validation on the nodes, background runs with per-node state,
// previews and pictures, cancel, cached re-runs, bypass, and plugin reload with missing types.
#include <gtest/gtest.h>

#include <thread>

#include "editor_test_nodes.hpp"

using namespace diffgraph;
using namespace diffgraph::editor;
using namespace diffgraph::editor::testing;
using namespace std::chrono_literals;

namespace {

class RunSessionTest : public ::testing::Test {
 protected:
  RunSessionTest() : registry(nodes.make_registry()), doc(registry), session(registry) {}

  // Number(1) → Slow(2) → MakeImage(3) → SaveImg(4); Number(1) → Show(5)
  void build(int steps = 3, int step_ms = 1) {
    doc.load(parse_graph(R"({"format": "diffgraph/1", "nodes": {
      "1": {"type": "Number", "inputs": {"value": 100}},
      "2": {"type": "Slow", "inputs": {"x": {"node": "1", "output": "INT"}, "steps": )" + std::to_string(steps) +
                         R"(, "step_ms": )" + std::to_string(step_ms) + R"(}},
      "3": {"type": "MakeImage", "inputs": {"level": {"node": "2", "output": "INT"}, "size": 4}},
      "4": {"type": "SaveImg", "inputs": {"images": {"node": "3", "output": "IMAGE"}}},
      "5": {"type": "Show", "inputs": {"value": {"node": "1", "output": "INT"}}}}})"));
  }

  RunReport run_to_end() {
    EXPECT_TRUE(session.start(doc));
    EXPECT_TRUE(session.wait(10s));
    return session.last_report();
  }

  TestNodes nodes;
  std::shared_ptr<Registry> registry;
  Document doc;
  RunSession session;
};

}  // namespace

TEST_F(RunSessionTest, RunsInTheBackgroundAndReportsEveryNode) {
  build();
  const RunReport report = run_to_end();
  ASSERT_EQ(report.phase, RunPhase::Finished) << report.message;
  EXPECT_EQ(report.run, 1u);
  for (const char* id : {"1", "2", "3", "4", "5"}) EXPECT_EQ(session.node_status(id).state, NodeRunState::Done) << id;
  // The slow node reported its steps with a live preview.
  const NodeRunStatus slow = session.node_status("2");
  EXPECT_EQ(slow.step, 3);
  EXPECT_EQ(slow.total, 3);
  ASSERT_TRUE(slow.preview);
  EXPECT_EQ(slow.preview->image.width, 2);
  EXPECT_EQ(slow.preview->image.rgba[0], 3);
  // IMAGE outputs become pictures on their node, and on the output node they feed.
  const NodeRunStatus image = session.node_status("3");
  ASSERT_EQ(image.images.size(), 1u);
  EXPECT_EQ(image.images[0]->image.width, 4);
  EXPECT_EQ(image.images[0]->image.rgba[0], 100);
  const NodeRunStatus save = session.node_status("4");
  ASSERT_EQ(save.images.size(), 1u);
  EXPECT_EQ(save.images[0], image.images[0]);
  ASSERT_EQ(save.results.size(), 1u);
  EXPECT_EQ(session.node_status("5").results[0]["text"], "100");
  // The gallery holds the output node's picture with the file it wrote.
  const auto gallery = session.gallery();
  ASSERT_EQ(gallery.size(), 1u);
  EXPECT_EQ(gallery[0].node_id, "4");
  EXPECT_EQ(gallery[0].file, "output/test_00001.png");
  EXPECT_EQ(gallery[0].run, 1u);
}

TEST_F(RunSessionTest, ReRunningAfterAChangeRunsOnlyWhatChanged) {
  build();
  ASSERT_EQ(run_to_end().phase, RunPhase::Finished);
  const auto first_picture = session.node_status("4").images.at(0);
  // Nothing changed: everything comes from the cache, and the pictures are the same objects
  // (so the UI keeps its textures).
  RunReport again = run_to_end();
  EXPECT_TRUE(again.stats.executed.empty());
  EXPECT_EQ(session.node_status("4").state, NodeRunState::Cached);
  EXPECT_EQ(session.node_status("4").images.at(0), first_picture);
  // A change in the middle re-runs that node and what follows, not what is upstream.
  doc.set_literal("3", "size", std::int64_t{8});
  RunReport changed = run_to_end();
  EXPECT_EQ(changed.stats.executed, (std::vector<std::string>{"3", "4"}));
  EXPECT_EQ(nodes.runs_of("1"), 1);
  EXPECT_EQ(nodes.runs_of("2"), 1);
  EXPECT_EQ(session.node_status("2").state, NodeRunState::Cached);  // 3 re-ran from 2's cached output
  EXPECT_EQ(session.node_status("1").state, NodeRunState::Idle);    // not even looked at
  EXPECT_EQ(session.node_status("4").images.at(0)->image.width, 8);
  EXPECT_NE(session.node_status("4").images.at(0)->version, first_picture->version);
  EXPECT_EQ(session.gallery().size(), 3u);
  EXPECT_GT(session.cache_entries(), 0u);
}

TEST_F(RunSessionTest, CancelStopsAtTheNextStep) {
  build(/*steps=*/100000, /*step_ms=*/2);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(session.start(doc));
  EXPECT_TRUE(session.running());
  EXPECT_FALSE(session.start(doc));  // one run at a time
  // Wait until the slow node is running and has made progress.
  while (session.node_status("2").step < 3) {
    ASSERT_LT(std::chrono::steady_clock::now() - start, 10s);
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(session.node_status("2").state, NodeRunState::Running);
  EXPECT_EQ(session.node_status("2").total, 100000);
  EXPECT_EQ(session.node_status("3").state, NodeRunState::Queued);
  // Editing during a run is fine: the run works on a snapshot.
  doc.set_literal("1", "value", std::int64_t{5});
  session.cancel();
  ASSERT_TRUE(session.wait(5s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  const RunReport report = session.last_report();
  EXPECT_EQ(report.phase, RunPhase::Cancelled);
  EXPECT_EQ(session.node_status("2").state, NodeRunState::Idle);
  EXPECT_EQ(session.node_status("2").message, "cancelled");
  EXPECT_EQ(session.node_status("3").state, NodeRunState::Idle);
  EXPECT_EQ(nodes.runs_of("3"), 0);
  // The next run starts normally (the cancel is not sticky).
  doc.set_literal("2", "steps", std::int64_t{2});
  EXPECT_EQ(run_to_end().phase, RunPhase::Finished);
}

TEST_F(RunSessionTest, ValidationProblemsAppearOnTheNodesBeforeAnythingRuns) {
  build();
  doc.set_literal("1", "value", std::int64_t{5000});  // above the maximum
  doc.disconnect({"3", "level"});
  const auto problems = session.validate(doc);
  EXPECT_EQ(problems.size(), 2u);
  EXPECT_EQ(session.node_status("1").problems.size(), 1u);
  EXPECT_NE(session.node_status("1").problems[0].find("above the maximum"), std::string::npos);
  EXPECT_EQ(session.node_status("3").problems.size(), 1u);
  EXPECT_FALSE(session.start(doc));
  const RunReport report = session.last_report();
  EXPECT_EQ(report.phase, RunPhase::Invalid);
  EXPECT_EQ(report.diagnostics.size(), 2u);
  EXPECT_EQ(session.node_status("1").state, NodeRunState::Failed);
  EXPECT_TRUE(nodes.runs.empty());
  // Fixed, the problems go away.
  doc.undo();
  doc.undo();
  EXPECT_TRUE(session.validate(doc).empty());
  EXPECT_TRUE(session.node_status("1").problems.empty());
  EXPECT_EQ(session.node_status("1").state, NodeRunState::Idle);
  // A graph without an output node says so.
  Document empty{registry};
  empty.add_node("Number", {0, 0});
  ASSERT_EQ(session.validate(empty).size(), 1u);
  EXPECT_NE(session.validate(empty)[0].message.find("no output node"), std::string::npos);
}

TEST_F(RunSessionTest, AnExecutionErrorIsShownOnItsNode) {
  doc.load(parse_graph(R"({"format": "diffgraph/1", "nodes": {
      "1": {"type": "Number", "inputs": {"value": -1}},
      "2": {"type": "FailIfNegative", "inputs": {"x": {"node": "1", "output": "INT"}}},
      "3": {"type": "Show", "inputs": {"value": {"node": "2", "output": "INT"}}}}})"));
  const RunReport report = run_to_end();
  EXPECT_EQ(report.phase, RunPhase::Failed);
  EXPECT_EQ(report.failed_node, "2");
  EXPECT_EQ(session.node_status("2").state, NodeRunState::Failed);
  EXPECT_EQ(session.node_status("2").message, "x is negative");
  EXPECT_EQ(session.node_status("1").state, NodeRunState::Done);
  EXPECT_EQ(session.node_status("3").state, NodeRunState::Idle);
}

TEST_F(RunSessionTest, BypassedNodesPassTheirInputThrough) {
  build();
  doc.set_bypass({"2"}, true);  // Slow passes its x (INT) straight to MakeImage
  ASSERT_EQ(run_to_end().phase, RunPhase::Finished);
  EXPECT_EQ(nodes.runs_of("2"), 0);
  EXPECT_EQ(session.node_status("2").state, NodeRunState::Idle);
  EXPECT_EQ(session.node_status("3").images.at(0)->image.rgba[0], 100);
  // A bypassed node whose output has nothing to pass on is refused, on that node.
  doc.set_bypass({"1"}, true);
  EXPECT_FALSE(session.start(doc));
  const auto problems = session.node_status("1").problems;
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("cannot pass output 'INT' through"), std::string::npos) << problems[0];
}

TEST(RunSessionPlugins, BypassRunsHeadlessWithTheBasicPlugin) {
  PluginHost host({BASIC_PLUGIN_FILE});
  ASSERT_TRUE(host.registry()->find_node("IntMath"));
  Document doc{host.registry()};
  doc.open(std::filesystem::path(DIFFGRAPH_GRAPHS_DIR) / "basic_math.json");
  RunSession session(host.registry());
  TempDir out;
  Environment environment;
  environment.output_dir = out.path();
  ASSERT_TRUE(session.set_environment(environment));
  ASSERT_TRUE(session.start(doc));
  ASSERT_TRUE(session.wait(10s));
  ASSERT_EQ(session.last_report().phase, RunPhase::Finished) << session.last_report().message;
  EXPECT_EQ(session.node_status("4").results.at(0)["text"], "42");
  // Bypass the multiplication: Display receives its first INT input (6).
  doc.set_bypass({"3"}, true);
  ASSERT_TRUE(session.start(doc));
  ASSERT_TRUE(session.wait(10s));
  ASSERT_EQ(session.last_report().phase, RunPhase::Finished) << session.last_report().message;
  EXPECT_EQ(session.node_status("4").results.at(0)["text"], "6");
  // The engine runs the saved file the same way (the CLI's path).
  TempDir dir;
  doc.save_as(dir / "bypassed.json");
  Executor executor(*host.registry());
  RunOptions options;
  options.environment = environment;
  const RunResult result = executor.run(load_graph(dir / "bypassed.json"), options);
  EXPECT_EQ(result.results.at("4").at(0)["text"], "6");
}

TEST(RunSessionPlugins, ReloadKeepsNodesWhoseTypeVanishedAndRefusesDuringARun) {
  TempDir plugins;
  std::filesystem::copy_file(BASIC_PLUGIN_FILE, plugins / "basic.so");
  PluginHost host({plugins.path()});
  Document doc{host.registry()};
  doc.open(std::filesystem::path(DIFFGRAPH_GRAPHS_DIR) / "basic_math.json");
  const std::string before = doc.to_json();
  TempDir out;
  RunSessionOptions options;
  options.environment.output_dir = out.path();
  RunSession session(host.registry(), options);
  ASSERT_TRUE(session.start(doc));
  ASSERT_TRUE(session.wait(10s));
  EXPECT_GT(session.cache_entries(), 0u);

  // The plugin goes away: its nodes stay in the document, marked missing.
  std::filesystem::remove(plugins / "basic.so");
  PluginReload reload = reload_plugins(host, session, doc);
  ASSERT_TRUE(reload.reloaded) << reload.message;
  EXPECT_EQ(host.generation(), 1);
  EXPECT_EQ(reload.missing_nodes.size(), doc.nodes().size());
  EXPECT_TRUE(doc.is_missing("3"));
  EXPECT_EQ(doc.to_json(), before);
  EXPECT_EQ(session.cache_entries(), 0u);
  EXPECT_FALSE(session.start(doc));
  EXPECT_EQ(session.last_report().phase, RunPhase::Invalid);
  EXPECT_NE(session.node_status("3").problems.at(0).find("unknown node type 'IntMath'"), std::string::npos);

  // It comes back: the same document runs again.
  std::filesystem::copy_file(BASIC_PLUGIN_FILE, plugins / "basic.so");
  reload = reload_plugins(host, session, doc);
  ASSERT_TRUE(reload.reloaded);
  EXPECT_TRUE(reload.missing_nodes.empty());
  EXPECT_FALSE(doc.is_missing("3"));
  ASSERT_TRUE(session.start(doc));
  ASSERT_TRUE(session.wait(10s));
  EXPECT_EQ(session.last_report().phase, RunPhase::Finished) << session.last_report().message;
}

TEST(RunSessionPlugins, ReloadIsRefusedWhileRunning) {
  TestNodes nodes;
  auto registry = nodes.make_registry();
  Document doc{registry};
  const std::string number = doc.add_node("Number", {0, 0});
  const std::string slow = doc.add_node("Slow", {0, 0});
  const std::string show = doc.add_node("Show", {0, 0});
  doc.connect({number, "INT"}, {slow, "x"});
  doc.connect({slow, "INT"}, {show, "value"});
  doc.set_literal(slow, "steps", std::int64_t{100000});
  RunSession session(registry);
  PluginHost host(std::vector<std::filesystem::path>{});
  ASSERT_TRUE(session.start(doc));
  const PluginReload reload = reload_plugins(host, session, doc);
  EXPECT_FALSE(reload.reloaded);
  EXPECT_NE(reload.message.find("run is in progress"), std::string::npos);
  EXPECT_EQ(doc.registry(), registry);
  session.cancel();
  EXPECT_TRUE(session.wait(5s));
}

TEST(InputChoices, DynamicListsAreComputedOncePerRefresh) {
  int calls = 0;
  NodeSpec spec;
  spec.type = "Loader";
  spec.inputs = {InputSpec::text("ckpt_name").options_from([&](const Environment& env) {
                   ++calls;
                   return std::vector<std::string>{env.setting("dir", "none") + "/model.safetensors"};
                 }),
                 InputSpec::choice("mode", {"a", "b"})};
  Environment environment;
  environment.settings["dir"] = "models";
  InputChoices choices(environment);
  EXPECT_EQ(choices.options(spec, spec.inputs[0]), (std::vector<std::string>{"models/model.safetensors"}));
  choices.options(spec, spec.inputs[0]);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(choices.options(spec, spec.inputs[1]), (std::vector<std::string>{"a", "b"}));
  choices.refresh();
  choices.options(spec, spec.inputs[0]);
  EXPECT_EQ(calls, 2);
  spec.inputs[0].dynamic_options = [](const Environment&) -> std::vector<std::string> { throw Error("no folder"); };
  choices.refresh();
  EXPECT_TRUE(choices.options(spec, spec.inputs[0]).empty());
  EXPECT_EQ(choices.error(spec, spec.inputs[0]), "no folder");
}
