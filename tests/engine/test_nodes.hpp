// Node types for engine tests, registered straight into a Registry. Each counts its runs.
#pragma once

#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include <diffgraph/engine.hpp>

namespace diffgraph::testing {

/// A list of integers, to check that cached values are never changed by later nodes.
class IntListValue final : public Value {
 public:
  explicit IntListValue(std::vector<std::int64_t> items) : items(std::move(items)) {}
  std::string_view type() const override { return "INTLIST"; }
  std::size_t byte_size() const override { return sizeof(*this) + items.size() * 8; }
  std::string summary() const override { return "list of " + std::to_string(items.size()); }
  const std::vector<std::int64_t> items;
};

struct TestNodes {
  std::map<std::string, int> runs;  // node id → executions

  void count(NodeContext& ctx) { ++runs[ctx.node_id()]; }

  void register_all(Registry& registry) {
    registry.add_type({"INTLIST", {}, "test list"});
    NodeSpec constant;
    constant.type = "Const";
    constant.inputs = {InputSpec::integer("value", 0).range(-1000, 1000)};
    constant.outputs = {{"INT", "INT", ""}};
    constant.execute = [this](NodeContext& ctx) {
      count(ctx);
      ctx.set_output("INT", make_value<IntValue>(ctx.get_int("value")));
    };
    registry.add_node(constant);

    NodeSpec add;
    add.type = "Add";
    add.inputs = {InputSpec::link("a", "INT"), InputSpec::link("b", "INT").optional(),
                  InputSpec::choice("mode", {"plus", "minus"})};
    add.outputs = {{"INT", "INT", ""}};
    add.execute = [this](NodeContext& ctx) {
      count(ctx);
      std::int64_t b = ctx.input("b") ? ctx.get_int("b") : 0;
      std::int64_t a = ctx.get_int("a");
      ctx.set_output("INT", make_value<IntValue>(ctx.get_string("mode") == "plus" ? a + b : a - b));
    };
    registry.add_node(add);

    NodeSpec sink;
    sink.type = "Sink";
    sink.output_node = true;
    sink.inputs = {InputSpec::link("value", "*")};
    sink.outputs = {{"value", "*", ""}};
    sink.execute = [this](NodeContext& ctx) {
      count(ctx);
      ctx.add_result({{"text", ctx.input("value")->summary()}});
      ctx.set_output("value", ctx.input("value"));
    };
    registry.add_node(sink);

    NodeSpec fail;
    fail.type = "FailIfNegative";
    fail.inputs = {InputSpec::link("x", "INT")};
    fail.outputs = {{"INT", "INT", ""}};
    fail.execute = [this](NodeContext& ctx) {
      count(ctx);
      if (ctx.get_int("x") < 0) throw NodeError("x is negative");
      ctx.set_output("INT", ctx.input("x"));
    };
    registry.add_node(fail);

    NodeSpec steps;
    steps.type = "Steps";
    steps.inputs = {InputSpec::link("x", "INT"), InputSpec::integer("steps", 3)};
    steps.outputs = {{"INT", "INT", ""}};
    steps.execute = [this](NodeContext& ctx) {
      count(ctx);
      const auto n = ctx.get_int("steps");
      for (int i = 1; i <= n; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ctx.progress(i, static_cast<int>(n));
      }
      ctx.set_output("INT", ctx.input("x"));
    };
    registry.add_node(steps);

    NodeSpec reader;
    reader.type = "ReadInt";
    reader.inputs = {InputSpec::text("path")};
    reader.outputs = {{"INT", "INT", ""}};
    reader.fingerprint = [](const std::map<std::string, Literal>& literals, const Environment&) {
      return file_fingerprint(std::get<std::string>(literals.at("path")));
    };
    reader.execute = [this](NodeContext& ctx) {
      count(ctx);
      std::ifstream in(ctx.get_string("path"));
      std::int64_t value = 0;
      in >> value;
      ctx.set_output("INT", make_value<IntValue>(value));
    };
    registry.add_node(reader);

    NodeSpec list;
    list.type = "MakeList";
    list.inputs = {InputSpec::integer("size", 2)};
    list.outputs = {{"INTLIST", "INTLIST", ""}};
    list.execute = [this](NodeContext& ctx) {
      count(ctx);
      ctx.set_output("INTLIST", make_value<IntListValue>(std::vector<std::int64_t>(ctx.get_int("size"), 1)));
    };
    registry.add_node(list);

    NodeSpec append;
    append.type = "Append";
    append.inputs = {InputSpec::link("list", "INTLIST"), InputSpec::integer("item", 5)};
    append.outputs = {{"INTLIST", "INTLIST", ""}};
    append.execute = [this](NodeContext& ctx) {
      count(ctx);
      auto items = ctx.get<IntListValue>("list")->items;  // a copy: inputs are immutable
      items.push_back(ctx.get_int("item"));
      ctx.set_output("INTLIST", make_value<IntListValue>(std::move(items)));
    };
    registry.add_node(append);
  }
};

/// Parses a graph from JSON written inline in a test.
inline Graph graph_from(const nlohmann::json& j) { return parse_graph(j.dump(), "<test>"); }

inline nlohmann::json link_to(const std::string& node, const std::string& output) {
  return {{"node", node}, {"output", output}};
}

}  // namespace diffgraph::testing
