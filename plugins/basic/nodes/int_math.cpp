// IntMath: one integer operation on a and b.
#include <limits>

#include <diffgraph/plugin.hpp>

namespace diffgraph::basic {

NodeSpec int_math_node() {
  NodeSpec spec;
  spec.type = "IntMath";
  spec.display_name = "Int Math";
  spec.category = "math";
  spec.description = "a <op> b on integers. Division and modulo by zero are errors; overflow wraps.";
  spec.inputs = {
      InputSpec::integer("a", 0),
      InputSpec::integer("b", 0),
      InputSpec::choice("op", {"add", "subtract", "multiply", "divide", "modulo", "min", "max"}),
  };
  spec.outputs = {{"INT", "INT", "the result"}};
  spec.execute = [](NodeContext& ctx) {
    // Unsigned arithmetic gives defined wrap-around instead of undefined overflow.
    const auto a = ctx.get_int("a"), b = ctx.get_int("b");
    const auto ua = static_cast<std::uint64_t>(a), ub = static_cast<std::uint64_t>(b);
    const std::string& op = ctx.get_string("op");
    std::int64_t result = 0;
    if (op == "add") result = static_cast<std::int64_t>(ua + ub);
    else if (op == "subtract") result = static_cast<std::int64_t>(ua - ub);
    else if (op == "multiply") result = static_cast<std::int64_t>(ua * ub);
    else if (op == "divide" || op == "modulo") {
      if (b == 0) throw NodeError(op + " by zero");
      if (a == std::numeric_limits<std::int64_t>::min() && b == -1) result = op == "divide" ? a : 0;
      else result = op == "divide" ? a / b : a % b;
    } else if (op == "min") result = std::min(a, b);
    else if (op == "max") result = std::max(a, b);
    else throw NodeError("unknown operation '" + op + "'");
    ctx.set_output("INT", make_value<IntValue>(result));
  };
  return spec;
}

DIFFGRAPH_NODE(int_math_node);

}  // namespace diffgraph::basic
