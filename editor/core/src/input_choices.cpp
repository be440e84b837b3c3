// Choice lists for widgets, with the dynamic ones (folder scans) computed once per refresh.
#include "diffgraph/editor/input_choices.hpp"

namespace diffgraph::editor {

InputChoices::InputChoices(Environment environment) : environment_(std::move(environment)) {}

const std::vector<std::string>& InputChoices::options(const NodeSpec& spec, const InputSpec& input) {
  if (!input.dynamic_options) return input.options;
  const auto key = std::make_pair(spec.type, input.name);
  auto it = dynamic_.find(key);
  if (it == dynamic_.end()) {
    Entry entry;
    try {
      entry.values = input.dynamic_options(environment_);
    } catch (const std::exception& e) {
      entry.error = e.what();
    }
    it = dynamic_.emplace(key, std::move(entry)).first;
  }
  return it->second.values;
}

std::string InputChoices::error(const NodeSpec& spec, const InputSpec& input) const {
  auto it = dynamic_.find(std::make_pair(spec.type, input.name));
  return it == dynamic_.end() ? std::string() : it->second.error;
}

void InputChoices::refresh() { dynamic_.clear(); }

void InputChoices::set_environment(Environment environment) {
  environment_ = std::move(environment);
  dynamic_.clear();
}

}  // namespace diffgraph::editor
