#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_nodes.hpp"

using namespace diffgraph;
using namespace diffgraph::testing;
using nlohmann::json;

namespace {

const char* kWorkflow = R"({
  "format": "diffgraph/1",
  "nodes": {
    "10": {"type": "Add", "inputs": {"a": {"node": "2", "output": "INT"}, "mode": "plus"},
           "editor": {"pos": [40, 80], "color": "#aa3300", "collapsed": false}},
    "2": {"type": "Const", "inputs": {"value": 7}},
    "3": {"type": "Sink", "inputs": {"value": {"node": "10", "output": "INT"}}},
    "4": {"type": "Float", "inputs": {"value": 1.0, "big": 18446744073709551615, "flag": true, "text": "a\nb"}}
  },
  "editor": {"groups": [{"title": "Group A", "rect": [0, 0, 200, 100]}], "view": {"zoom": 1.5}}
})";

std::vector<std::string> messages(const GraphError& e) {
  std::vector<std::string> out;
  for (const auto& d : e.diagnostics()) out.push_back(d.to_string());
  return out;
}

}  // namespace

TEST(GraphJson, ParsesNodesLiteralsLinksAndEditorMetadata) {
  Graph graph = parse_graph(kWorkflow);
  ASSERT_EQ(graph.nodes.size(), 4u);
  const GraphNode& add = graph.nodes.at("10");
  EXPECT_EQ(add.type, "Add");
  EXPECT_EQ(std::get<Link>(add.inputs.at("a")), (Link{"2", "INT"}));
  EXPECT_EQ(std::get<std::string>(std::get<Literal>(add.inputs.at("mode"))), "plus");
  EXPECT_EQ(add.editor.at("pos"), json::array({40, 80}));
  EXPECT_EQ(std::get<std::int64_t>(std::get<Literal>(graph.nodes.at("2").inputs.at("value"))), 7);
  const GraphNode& f = graph.nodes.at("4");
  EXPECT_DOUBLE_EQ(std::get<double>(std::get<Literal>(f.inputs.at("value"))), 1.0);
  // 2^64-1 keeps its 64 bits as two's complement.
  EXPECT_EQ(std::get<std::int64_t>(std::get<Literal>(f.inputs.at("big"))), -1);
  EXPECT_TRUE(std::get<bool>(std::get<Literal>(f.inputs.at("flag"))));
  EXPECT_EQ(graph.editor.at("view").at("zoom"), 1.5);
}

TEST(GraphJson, LoadSaveLoadIsIdenticalWithStableKeyOrder) {
  Graph first = parse_graph(kWorkflow);
  const std::string saved = serialize_graph(first);
  Graph second = parse_graph(saved);
  EXPECT_EQ(first, second);
  EXPECT_EQ(saved, serialize_graph(second));
  // Keys come out sorted, so a diff of two saves shows only real changes.
  EXPECT_LT(saved.find("\"editor\""), saved.find("\"format\""));
  EXPECT_LT(saved.find("\"format\""), saved.find("\"nodes\""));
  // A float literal stays a float through a round trip.
  EXPECT_NE(saved.find("\"value\": 1.0"), std::string::npos);
}

TEST(GraphJson, SaveIsAtomicAndLoadReadsTheFile) {
  auto dir = std::filesystem::temp_directory_path() / ("diffgraph_graph_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / "w.json";
  Graph graph = parse_graph(kWorkflow);
  save_graph(graph, path);
  save_graph(graph, path);  // replacing an existing file leaves no temporary behind
  EXPECT_EQ(load_graph(path), graph);
  int files = 0;
  for (auto& entry : std::filesystem::directory_iterator(dir)) (void)entry, ++files;
  EXPECT_EQ(files, 1);
  std::filesystem::remove_all(dir);
}

TEST(GraphJson, MalformedJsonNamesThePosition) {
  try {
    parse_graph("{\n  \"format\": \"diffgraph/1\",\n  \"nodes\": {,}\n}", "broken.json");
    FAIL() << "expected GraphError";
  } catch (const GraphError& e) {
    EXPECT_EQ(e.source(), "broken.json");
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_NE(e.diagnostics()[0].message.find("line 3, column 13"), std::string::npos) << e.what();
  }
}

TEST(GraphJson, ReportsEveryStructuralProblemWithItsPath) {
  const char* bad = R"({
    "format": "diffgraph/2",
    "nodes": {
      "1": {"type": 5},
      "2": {"type": "Const", "inputs": {"value": [1, 2], "x": {"node": "1"}, "n": null}},
      "3": "not an object",
      "4": {"type": "Const", "colour": "red"}
    },
    "extra": 1
  })";
  try {
    parse_graph(bad);
    FAIL() << "expected GraphError";
  } catch (const GraphError& e) {
    const auto list = messages(e);
    auto has = [&](const std::string& text) {
      return std::any_of(list.begin(), list.end(), [&](const std::string& m) { return m.find(text) != std::string::npos; });
    };
    EXPECT_TRUE(has("(/format): unsupported format \"diffgraph/2\""));
    EXPECT_TRUE(has("node 1 (/nodes/1/type)"));
    EXPECT_TRUE(has("node 2 (/nodes/2/inputs/value): an input must be a literal or a link, not an array"));
    EXPECT_TRUE(has("node 2 (/nodes/2/inputs/x): a link must be"));
    EXPECT_TRUE(has("node 2 (/nodes/2/inputs/n)"));
    EXPECT_TRUE(has("node 3 (/nodes/3): a node must be an object"));
    EXPECT_TRUE(has("node 4 (/nodes/4/colour): unknown key 'colour'"));
    EXPECT_TRUE(has("(/extra): unknown key 'extra'"));
    EXPECT_EQ(list.size(), 8u) << e.what();
  }
}

TEST(GraphJson, MissingFileIsAClearError) {
  try {
    load_graph("/nonexistent/workflow.json");
    FAIL();
  } catch (const GraphError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/workflow.json: 1 problem"), std::string::npos) << e.what();
  }
}

TEST(GraphJson, ParsesCommandLineLiterals) {
  EXPECT_EQ(parse_literal_text("42"), Literal(std::int64_t{42}));
  EXPECT_EQ(parse_literal_text("-3"), Literal(std::int64_t{-3}));
  EXPECT_EQ(parse_literal_text("2.5"), Literal(2.5));
  EXPECT_EQ(parse_literal_text("true"), Literal(true));
  EXPECT_EQ(parse_literal_text("a red fox"), Literal(std::string("a red fox")));
  EXPECT_EQ(parse_literal_text("\"123\""), Literal(std::string("123")));
}

TEST(GraphJson, BypassIsReadAndWrittenOnlyWhenSet) {
  Graph graph = parse_graph(R"({"format": "diffgraph/1", "nodes": {
      "1": {"type": "Const", "bypass": true}, "2": {"type": "Const", "bypass": false}}})");
  EXPECT_TRUE(graph.nodes.at("1").bypass);
  EXPECT_FALSE(graph.nodes.at("2").bypass);
  const std::string saved = serialize_graph(graph);
  EXPECT_EQ(parse_graph(saved), graph);
  EXPECT_EQ(json::parse(saved).at("nodes").at("1").at("bypass"), true);
  EXPECT_FALSE(json::parse(saved).at("nodes").at("2").contains("bypass"));
  try {
    parse_graph(R"({"format": "diffgraph/1", "nodes": {"1": {"type": "Const", "bypass": 1}}})");
    FAIL() << "a non-boolean bypass must be refused";
  } catch (const GraphError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].path, "/nodes/1/bypass");
  }
}
