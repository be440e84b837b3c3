// FloatMath: one floating-point operation on a and b.
#include <cmath>

#include <diffgraph/plugin.hpp>

namespace diffgraph::basic {

NodeSpec float_math_node() {
  NodeSpec spec;
  spec.type = "FloatMath";
  spec.display_name = "Float Math";
  spec.category = "math";
  spec.description = "a <op> b on floating-point numbers; a result that is not finite is an error.";
  spec.inputs = {
      InputSpec::number("a", 0.0),
      InputSpec::number("b", 0.0),
      InputSpec::choice("op", {"add", "subtract", "multiply", "divide", "power", "min", "max"}),
  };
  spec.outputs = {{"FLOAT", "FLOAT", "the result"}};
  spec.execute = [](NodeContext& ctx) {
    const double a = ctx.get_float("a"), b = ctx.get_float("b");
    const std::string& op = ctx.get_string("op");
    double result = 0;
    if (op == "add") result = a + b;
    else if (op == "subtract") result = a - b;
    else if (op == "multiply") result = a * b;
    else if (op == "divide") result = a / b;
    else if (op == "power") result = std::pow(a, b);
    else if (op == "min") result = std::min(a, b);
    else if (op == "max") result = std::max(a, b);
    else throw NodeError("unknown operation '" + op + "'");
    if (!std::isfinite(result)) throw NodeError(op + " of " + std::to_string(a) + " and " + std::to_string(b) + " is not finite");
    ctx.set_output("FLOAT", make_value<FloatValue>(result));
  };
  return spec;
}

DIFFGRAPH_NODE(float_math_node);

}  // namespace diffgraph::basic
