#include <gtest/gtest.h>

#include "test_nodes.hpp"

using namespace diffgraph;
using namespace diffgraph::testing;
using nlohmann::json;

namespace {

class Validation : public ::testing::Test {
 protected:
  void SetUp() override { nodes.register_all(registry); }

  std::vector<std::string> problems(const json& nodes_json) {
    Graph graph = graph_from({{"format", "diffgraph/1"}, {"nodes", nodes_json}});
    std::vector<std::string> out;
    for (const auto& d : validate_graph(graph, registry)) out.push_back(d.to_string());
    return out;
  }

  static bool contains(const std::vector<std::string>& list, const std::string& text) {
    return std::any_of(list.begin(), list.end(), [&](const std::string& m) { return m.find(text) != std::string::npos; });
  }

  Registry registry;
  TestNodes nodes;
};

}  // namespace

TEST_F(Validation, AValidGraphHasNoProblems) {
  EXPECT_TRUE(problems({{"1", {{"type", "Const"}, {"inputs", {{"value", 3}}}}},
                        {"2", {{"type", "Add"}, {"inputs", {{"a", link_to("1", "INT")}}}}},
                        {"3", {{"type", "Sink"}, {"inputs", {{"value", link_to("2", "INT")}}}}}})
                  .empty());
}

TEST_F(Validation, ReportsEveryKindOfProblemAtOnceWithNodeIds) {
  auto list = problems({
      {"u", {{"type", "NoSuchNode"}}},
      {"1", {{"type", "Const"}, {"inputs", {{"value", 5000}, {"colour", 1}}}}},
      {"2", {{"type", "Add"}, {"inputs", {{"mode", "times"}}}}},
      {"3", {{"type", "Add"}, {"inputs", {{"a", link_to("missing", "INT")}, {"b", link_to("1", "NOPE")}}}}},
      {"4", {{"type", "Append"}, {"inputs", {{"list", link_to("1", "INT")}}}}},
      {"5", {{"type", "Const"}, {"inputs", {{"value", 2.5}}}}},
      {"6", {{"type", "Add"}, {"inputs", {{"a", 3}}}}},
  });
  EXPECT_TRUE(contains(list, "node u (/nodes/u/type): unknown node type 'NoSuchNode'"));
  EXPECT_TRUE(contains(list, "node 1 (/nodes/1/inputs/value): input 'value': value 5000 is above the maximum 1000"));
  EXPECT_TRUE(contains(list, "node 1 (/nodes/1/inputs/colour): unknown input 'colour' for Const (inputs: value)"));
  EXPECT_TRUE(contains(list, "node 2 (/nodes/2/inputs/mode): input 'mode': value \"times\" is not one of: plus, minus"));
  EXPECT_TRUE(contains(list, "node 2 (/nodes/2/inputs/a): missing required input 'a' (INT)"));
  EXPECT_TRUE(contains(list, "node 3 (/nodes/3/inputs/a): input 'a' links to missing node 'missing'"));
  EXPECT_TRUE(contains(list, "node 3 (/nodes/3/inputs/b): input 'b' links to output 'NOPE' of node 1 (Const), which has outputs: INT"));
  EXPECT_TRUE(contains(list, "node 4 (/nodes/4/inputs/list): input 'list' expects INTLIST but node 1 output 'INT' is INT"));
  EXPECT_TRUE(contains(list, "node 5 (/nodes/5/inputs/value): input 'value': value 2.5 is not an integer"));
  EXPECT_TRUE(contains(list, "node 6 (/nodes/6/inputs/a): input 'a': takes a link to a INT, not a literal") ||
              contains(list, "node 6 (/nodes/6/inputs/a): input 'a': takes a link"));
  EXPECT_EQ(list.size(), 10u);
}

TEST_F(Validation, PrintsTheCycle) {
  auto list = problems({
      {"a", {{"type", "Add"}, {"inputs", {{"a", link_to("c", "INT")}}}}},
      {"b", {{"type", "Add"}, {"inputs", {{"a", link_to("a", "INT")}}}}},
      {"c", {{"type", "Add"}, {"inputs", {{"a", link_to("b", "INT")}}}}},
      {"s", {{"type", "Add"}, {"inputs", {{"a", link_to("s", "INT")}}}}},
  });
  ASSERT_EQ(list.size(), 2u);
  EXPECT_TRUE(contains(list, "cycle: a -> b -> c -> a") || contains(list, "cycle: b -> c -> a -> b") ||
              contains(list, "cycle: c -> a -> b -> c"))
      << list[0];
  EXPECT_TRUE(contains(list, "cycle: s -> s"));
}

TEST_F(Validation, AnyTypedInputAcceptsEveryOutput) {
  EXPECT_TRUE(problems({{"1", {{"type", "MakeList"}}}, {"2", {{"type", "Sink"}, {"inputs", {{"value", link_to("1", "INTLIST")}}}}}})
                  .empty());
}

TEST_F(Validation, RequireValidThrowsGraphErrorListingAll) {
  Graph graph = graph_from({{"format", "diffgraph/1"}, {"nodes", {{"x", {{"type", "Nope"}}}, {"y", {{"type", "Nope2"}}}}}});
  try {
    require_valid(graph, registry, "w.json");
    FAIL();
  } catch (const GraphError& e) {
    EXPECT_EQ(e.diagnostics().size(), 2u);
    EXPECT_NE(std::string(e.what()).find("w.json: 2 problems"), std::string::npos);
  }
}
