#include "diffgraph/node_spec.hpp"

#include <string_view>

#include <nlohmann/json.hpp>

namespace diffgraph {

std::string Environment::setting(const std::string& key, const std::string& fallback) const {
  auto it = settings.find(key);
  return it == settings.end() ? fallback : it->second;
}

InputSpec InputSpec::link(std::string name, std::string type) {
  InputSpec spec;
  spec.name = std::move(name);
  spec.type = std::move(type);
  return spec;
}

namespace {
InputSpec make_widget(std::string name, std::string_view type, Literal default_value) {
  InputSpec spec;
  spec.name = std::move(name);
  spec.type = std::string(type);
  spec.widget = true;
  spec.default_value = std::move(default_value);
  return spec;
}
}  // namespace

InputSpec InputSpec::integer(std::string name, std::int64_t default_value) {
  return make_widget(std::move(name), builtin_types::kInt, default_value);
}
InputSpec InputSpec::number(std::string name, double default_value) {
  return make_widget(std::move(name), builtin_types::kFloat, default_value);
}
InputSpec InputSpec::text(std::string name, std::string default_value) {
  return make_widget(std::move(name), builtin_types::kString, std::move(default_value));
}
InputSpec InputSpec::boolean(std::string name, bool default_value) {
  return make_widget(std::move(name), builtin_types::kBoolean, default_value);
}
InputSpec InputSpec::choice(std::string name, std::vector<std::string> options, std::string default_value) {
  if (default_value.empty() && !options.empty()) default_value = options.front();
  InputSpec spec = make_widget(std::move(name), builtin_types::kString, std::move(default_value));
  spec.options = std::move(options);
  return spec;
}

InputSpec& InputSpec::range(double min_value, double max_value, double step_value) {
  min = min_value;
  max = max_value;
  if (step_value > 0) step = step_value;
  return *this;
}
InputSpec& InputSpec::optional() {
  required = false;
  return *this;
}
InputSpec& InputSpec::multiline_text() {
  multiline = true;
  return *this;
}
InputSpec& InputSpec::describe(std::string text) {
  description = std::move(text);
  return *this;
}
InputSpec& InputSpec::options_from(std::function<std::vector<std::string>(const Environment&)> provider) {
  dynamic_options = std::move(provider);
  return *this;
}

const InputSpec* NodeSpec::find_input(std::string_view name) const {
  for (const auto& input : inputs)
    if (input.name == name) return &input;
  return nullptr;
}

const OutputSpec* NodeSpec::find_output(std::string_view name) const {
  for (const auto& output : outputs)
    if (output.name == name) return &output;
  return nullptr;
}

namespace {
nlohmann::json literal_json(const Literal& literal) {
  struct Visitor {
    nlohmann::json operator()(std::monostate) const { return nullptr; }
    nlohmann::json operator()(bool v) const { return v; }
    nlohmann::json operator()(std::int64_t v) const { return v; }
    nlohmann::json operator()(double v) const { return v; }
    nlohmann::json operator()(const std::string& v) const { return v; }
  };
  return std::visit(Visitor{}, literal);
}
}  // namespace

nlohmann::json NodeSpec::to_json() const {
  nlohmann::json j;
  j["type"] = type;
  j["version"] = version;
  j["display_name"] = display_name.empty() ? type : display_name;
  j["category"] = category;
  j["description"] = description;
  j["output_node"] = output_node;
  j["inputs"] = nlohmann::json::array();
  for (const auto& input : inputs) {
    nlohmann::json i;
    i["name"] = input.name;
    i["type"] = input.type;
    i["required"] = input.required;
    i["widget"] = input.widget;
    if (!input.description.empty()) i["description"] = input.description;
    if (input.widget) i["default"] = literal_json(input.default_value);
    if (input.min) i["min"] = *input.min;
    if (input.max) i["max"] = *input.max;
    if (input.step) i["step"] = *input.step;
    if (!input.options.empty()) i["options"] = input.options;
    if (input.dynamic_options) i["dynamic_options"] = true;
    if (input.multiline) i["multiline"] = true;
    j["inputs"].push_back(std::move(i));
  }
  j["outputs"] = nlohmann::json::array();
  for (const auto& output : outputs) {
    nlohmann::json o{{"name", output.name}, {"type", output.type}};
    if (!output.description.empty()) o["description"] = output.description;
    j["outputs"].push_back(std::move(o));
  }
  return j;
}

NodeContext::~NodeContext() = default;

void NodeContext::throw_if_cancelled() const {
  if (cancelled()) throw Cancelled();
}

void NodeContext::missing_input(std::string_view name) const {
  throw NodeError("input '" + std::string(name) + "' has no value");
}

void NodeContext::wrong_type(std::string_view name, const Value& value) const {
  const InputSpec* input = spec().find_input(name);
  throw NodeError("input '" + std::string(name) + "' expected " + (input ? input->type : std::string("?")) +
                  " but got " + std::string(value.type()));
}

std::int64_t NodeContext::get_int(std::string_view name) const { return get<IntValue>(name)->get(); }

double NodeContext::get_float(std::string_view name) const {
  auto value = input(name);
  if (!value) missing_input(name);
  if (auto i = value_cast<IntValue>(value)) return static_cast<double>(i->get());
  if (auto f = value_cast<FloatValue>(value)) return f->get();
  wrong_type(name, *value);
}

bool NodeContext::get_bool(std::string_view name) const { return get<BoolValue>(name)->get(); }

const std::string& NodeContext::get_string(std::string_view name) const {
  return get<StringValue>(name)->get();
}

}  // namespace diffgraph
