/// @file node_spec.hpp
/// How a node type describes itself (inputs, outputs, widgets) and runs (execute).
///
/// A node is one small, self-describing unit: a NodeSpec is data that the editor, the CLI's
/// `nodes --json`, validation and the docs all read, plus an execute function that pulls its
/// inputs by name and sets its outputs by name.
///
/// @code
/// NodeSpec spec;
/// spec.type = "IntAdd";
/// spec.category = "math";
/// spec.description = "a + b";
/// spec.inputs = {InputSpec::integer("a", 0), InputSpec::integer("b", 0)};
/// spec.outputs = {{"INT", "INT"}};
/// spec.execute = [](NodeContext& ctx) {
///   ctx.set_output("INT", make_value<IntValue>(ctx.get_int("a") + ctx.get_int("b")));
/// };
/// @endcode
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "errors.hpp"
#include "types.hpp"
#include "value.hpp"

namespace diffgraph {

/// Where a run happens: folders and settings nodes may read (set by the front end).
struct Environment {
  std::filesystem::path output_dir = "output";         ///< where output nodes write files
  std::vector<std::filesystem::path> model_dirs;       ///< where loaders look for model files
  std::map<std::string, std::string> settings;         ///< free-form: "device", "dtype", ...
  int threads = 0;                                     ///< compute threads, 0 = all cores

  /// settings[key], or `fallback` when unset.
  std::string setting(const std::string& key, const std::string& fallback = {}) const;
};

/// One input socket of a node type.
struct InputSpec {
  std::string name;
  std::string type;          ///< a registered type name, or "*" for any
  std::string description;   ///< one line for tooltips and docs
  bool required = true;      ///< a required input must have a link, a literal or a default
  bool widget = false;       ///< edited in place (accepts a literal); otherwise link only
  Literal default_value;     ///< used when a widget input has no literal
  std::optional<double> min, max, step;  ///< numeric limits (validation, editor sliders)
  std::vector<std::string> options;      ///< allowed values of a STRING choice
  /// Allowed values computed at run time (e.g. model files found in the model folders).
  std::function<std::vector<std::string>(const Environment&)> dynamic_options;
  bool multiline = false;    ///< a STRING edited in a multi-line box (prompts)

  /// A link-only input of `type`.
  static InputSpec link(std::string name, std::string type);
  /// An INT widget with a default.
  static InputSpec integer(std::string name, std::int64_t default_value);
  /// A FLOAT widget with a default.
  static InputSpec number(std::string name, double default_value);
  /// A STRING widget with a default.
  static InputSpec text(std::string name, std::string default_value = {});
  /// A BOOLEAN widget with a default.
  static InputSpec boolean(std::string name, bool default_value);
  /// A STRING widget restricted to `options` (default: the first option).
  static InputSpec choice(std::string name, std::vector<std::string> options,
                          std::string default_value = {});

  InputSpec& range(double min_value, double max_value, double step_value = 0.0);
  InputSpec& optional();
  InputSpec& multiline_text();
  InputSpec& describe(std::string text);
  InputSpec& options_from(std::function<std::vector<std::string>(const Environment&)> provider);
};

/// One output socket of a node type.
struct OutputSpec {
  std::string name;
  std::string type;
  std::string description;
};

class NodeContext;

/// The function that runs a node.
using ExecuteFn = std::function<void(NodeContext&)>;

/// Computes a fingerprint of the outside world a node reads (for a file: size, mtime and a
/// hash) from its literal inputs, so the cache notices changes that are not in the graph.
using FingerprintFn =
    std::function<std::string(const std::map<std::string, Literal>& literals, const Environment&)>;

/// Everything about a node type.
struct NodeSpec {
  /// Keeps the plugin that defined this node loaded for as long as the spec lives. Declared
  /// first so it is destroyed last, after the functions whose code lives in that plugin.
  std::shared_ptr<void> library;

  std::string type;          ///< unique type name, e.g. "KSampler"
  int version = 1;           ///< bump when outputs for the same inputs change (invalidates caches)
  std::string display_name;  ///< shown in the editor (defaults to `type`)
  std::string category;      ///< "sampling", "loaders", "image/mask" ...
  std::string description;
  std::vector<InputSpec> inputs;
  std::vector<OutputSpec> outputs;
  bool output_node = false;  ///< has an effect outside the graph (saves, displays): a run target
  FingerprintFn fingerprint;
  ExecuteFn execute;

  const InputSpec* find_input(std::string_view name) const;
  const OutputSpec* find_output(std::string_view name) const;
  /// The spec as JSON (what `diffgraph nodes --json` prints), without dynamic options.
  nlohmann::json to_json() const;
};

/// What a node sees while it runs: its inputs, its outputs, progress, cancellation.
class NodeContext {
 public:
  virtual ~NodeContext();

  virtual const std::string& node_id() const = 0;
  virtual const NodeSpec& spec() const = 0;
  /// The value of an input (a linked output, a literal or the default), or nullptr for an
  /// optional input that has none.
  virtual ValuePtr input(std::string_view name) const = 0;
  /// Sets an output; every declared output must be set before execute returns.
  virtual void set_output(std::string_view name, ValuePtr value) = 0;
  /// Reports progress inside the node (step of total), optionally with a preview picture.
  /// Also the place where a long node learns it was cancelled: it throws Cancelled.
  virtual void progress(int step, int total, std::optional<PreviewImage> preview = std::nullopt) = 0;
  /// True once the run has been asked to stop.
  virtual bool cancelled() const = 0;
  /// A non-fatal problem shown on the node.
  virtual void warn(std::string message) = 0;
  /// Folders and settings of this run.
  virtual const Environment& environment() const = 0;
  /// The workflow being run, as `diffgraph/1` JSON text (to embed in saved images).
  virtual const std::string& workflow_json() const = 0;
  /// Records a result for the front end, e.g. {"image": "output/x_00001.png"}.
  virtual void add_result(const nlohmann::json& result) = 0;

  /// Throws Cancelled when the run was asked to stop.
  void throw_if_cancelled() const;
  /// The input as T; throws NodeError naming the input when it is missing or of another type.
  template <class T>
  std::shared_ptr<const T> get(std::string_view name) const {
    auto value = input(name);
    if (!value) missing_input(name);
    auto typed = value_cast<T>(value);
    if (!typed) wrong_type(name, *value);
    return typed;
  }
  std::int64_t get_int(std::string_view name) const;
  double get_float(std::string_view name) const;  ///< accepts INT too
  bool get_bool(std::string_view name) const;
  const std::string& get_string(std::string_view name) const;

 private:
  [[noreturn]] void missing_input(std::string_view name) const;
  [[noreturn]] void wrong_type(std::string_view name, const Value& value) const;
};

}  // namespace diffgraph
