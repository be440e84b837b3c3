/// @file input_choices.hpp
/// The values a choice widget offers: an input's static options, or its dynamic list (model
/// files found in the model folders, via InputSpec::options_from), computed once and kept until
/// refresh(), because scanning folders every frame would make the UI stutter.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <diffgraph/node_spec.hpp>

namespace diffgraph::editor {

class InputChoices {
 public:
  explicit InputChoices(Environment environment = {});

  /// The input's options: the dynamic list when it has one (computed on first use; a provider
  /// that throws gives an empty list and error() says why), else its static options (empty for
  /// a free-form input).
  const std::vector<std::string>& options(const NodeSpec& spec, const InputSpec& input);
  /// The provider's error for that input from the last computation, or "".
  std::string error(const NodeSpec& spec, const InputSpec& input) const;
  /// Forgets the dynamic lists (a "refresh" button, a new model file, a plugin reload).
  void refresh();
  /// Changes the folders used, and forgets the lists.
  void set_environment(Environment environment);
  const Environment& environment() const { return environment_; }

 private:
  struct Entry {
    std::vector<std::string> values;
    std::string error;
  };
  Environment environment_;
  std::map<std::pair<std::string, std::string>, Entry> dynamic_;  // (node type, input) → list
};

}  // namespace diffgraph::editor
