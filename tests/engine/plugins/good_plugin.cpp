// A well-formed plugin: one type and two nodes, one of which throws when run.
#include <diffgraph/plugin.hpp>

using namespace diffgraph;

namespace {
class TokenValue final : public Value {
 public:
  explicit TokenValue(std::string text) : text_(std::move(text)) {}
  std::string_view type() const override { return "TOKEN"; }
  std::size_t byte_size() const override { return sizeof(*this) + text_.size(); }
  std::string summary() const override { return "token " + text_; }

 private:
  std::string text_;
};
}  // namespace

DIFFGRAPH_PLUGIN(registrar) {
  registrar.set_info("good", "2.5", "test plugin");
  registrar.add_type({"TOKEN", {10, 20, 30}, "a test token"});
  NodeSpec make;
  make.type = "MakeToken";
  make.inputs = {InputSpec::text("text", "hello")};
  make.outputs = {{"TOKEN", "TOKEN", ""}};
  make.execute = [](NodeContext& ctx) { ctx.set_output("TOKEN", make_value<TokenValue>(ctx.get_string("text"))); };
  registrar.add_node(std::move(make));

  NodeSpec fail;
  fail.type = "ThrowingNode";
  fail.inputs = {InputSpec::integer("x", 0)};
  fail.outputs = {{"INT", "INT", ""}};
  fail.execute = [](NodeContext&) -> void { throw std::runtime_error("the test node always fails"); };
  registrar.add_node(std::move(fail));
}
