#include "diffgraph/value.hpp"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "diffgraph/abi.hpp"
#include "diffgraph/types.hpp"

namespace diffgraph {

#ifndef DIFFGRAPH_VERSION
#define DIFFGRAPH_VERSION "unknown"
#endif
const char* engine_version() { return DIFFGRAPH_VERSION; }

Value::~Value() = default;
std::optional<PreviewImage> Value::preview() const { return std::nullopt; }

namespace {
std::string format_double(double value) {
  // Shortest text that reads back as the same double, like JSON writers do.
  return nlohmann::json(value).dump();
}
}  // namespace

std::string_view IntValue::type() const { return builtin_types::kInt; }
std::string IntValue::summary() const { return std::to_string(get()); }
std::string_view FloatValue::type() const { return builtin_types::kFloat; }
std::string FloatValue::summary() const { return format_double(get()); }
std::string_view StringValue::type() const { return builtin_types::kString; }
std::string StringValue::summary() const { return get(); }
std::string_view BoolValue::type() const { return builtin_types::kBoolean; }
std::string BoolValue::summary() const { return get() ? "true" : "false"; }

std::string literal_to_string(const Literal& literal) {
  struct Visitor {
    std::string operator()(std::monostate) const { return "null"; }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(std::int64_t v) const { return std::to_string(v); }
    std::string operator()(double v) const { return format_double(v); }
    std::string operator()(const std::string& v) const { return nlohmann::json(v).dump(); }
  };
  return std::visit(Visitor{}, literal);
}

}  // namespace diffgraph
