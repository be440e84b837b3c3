// `diffgraph nodes`: every node type the loaded plugins offer, as text or JSON.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"

namespace diffgraph::cli {

namespace {

struct NodesOptions {
  std::vector<std::string> plugin_dirs;
  bool json = false;
};

std::string describe_input(const InputSpec& input) {
  std::string text = input.name + " " + input.type;
  if (input.widget && !std::holds_alternative<std::monostate>(input.default_value))
    text += " = " + literal_to_string(input.default_value);
  if (input.min || input.max)
    text += fmt::format(" [{}..{}]", input.min ? literal_to_string(*input.min) : "", input.max ? literal_to_string(*input.max) : "");
  if (!input.options.empty()) {
    std::string options;
    for (const auto& option : input.options) options += (options.empty() ? "" : "|") + option;
    text += " {" + options + "}";
  }
  if (input.dynamic_options) text += " {choices found at run time}";
  if (!input.widget) text += " (link)";
  if (!input.required) text += " (optional)";
  return text;
}

void list_nodes(const NodesOptions& options) {
  Registry registry;
  load_plugins_for_command(registry, options.plugin_dirs, true);
  if (options.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const NodeSpec* spec : registry.nodes()) {
      nlohmann::json entry = spec->to_json();
      entry["plugin"] = registry.node_plugin(spec->type);
      list.push_back(std::move(entry));
    }
    fmt::print("{}\n", list.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  const auto specs = registry.nodes();
  if (specs.empty()) {
    fmt::print("no node types: no plugin was loaded (see `diffgraph plugins`)\n");
    return;
  }
  for (const NodeSpec* spec : specs) {
    fmt::print("{}  [{}] {}{}\n", spec->type, registry.node_plugin(spec->type),
               spec->category.empty() ? "" : spec->category, spec->output_node ? " (output node)" : "");
    if (!spec->description.empty()) fmt::print("    {}\n", spec->description);
    for (const auto& input : spec->inputs) fmt::print("    in   {}\n", describe_input(input));
    for (const auto& output : spec->outputs) fmt::print("    out  {} {}\n", output.name, output.type);
  }
}

}  // namespace

void add_nodes_command(CLI::App& app, CommandOutcome& /*outcome*/) {
  auto options = std::make_shared<NodesOptions>();
  CLI::App* command = app.add_subcommand("nodes", "List every node type with its inputs, outputs and plugin");
  command->add_flag("--json", options->json, "Print a JSON array of node specs (each with its \"plugin\")");
  add_plugins_option(*command, options->plugin_dirs);
  command->callback([options] { list_nodes(*options); });
}

}  // namespace diffgraph::cli
