#include "diffgraph/validation.hpp"

#include <cmath>
#include <functional>
#include <optional>
#include <set>

namespace diffgraph {

namespace {

std::string node_path(const std::string& id) { return "/nodes/" + id; }
std::string input_path(const std::string& id, const std::string& input) {
  return node_path(id) + "/inputs/" + input;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? std::string(separator) : "") + items[i];
  return out;
}

std::string input_names(const NodeSpec& spec) {
  std::vector<std::string> names;
  for (const auto& input : spec.inputs) names.push_back(input.name);
  return names.empty() ? "none" : join(names, ", ");
}

std::string output_names(const NodeSpec& spec) {
  std::vector<std::string> names;
  for (const auto& output : spec.outputs) names.push_back(output.name);
  return names.empty() ? "none" : join(names, ", ");
}

// The literal's problem for `input`, or an empty string when it is acceptable.
std::string check_literal(const InputSpec& input, const Literal& literal) {
  const std::string& type = input.type;
  if (!input.widget) return "takes a link to a " + type + " output, not a literal";
  double numeric = 0;
  if (type == builtin_types::kInt) {
    if (!std::holds_alternative<std::int64_t>(literal))
      return "value " + literal_to_string(literal) + " is not an integer";
    numeric = static_cast<double>(std::get<std::int64_t>(literal));
  } else if (type == builtin_types::kFloat) {
    if (std::holds_alternative<std::int64_t>(literal)) numeric = static_cast<double>(std::get<std::int64_t>(literal));
    else if (std::holds_alternative<double>(literal)) numeric = std::get<double>(literal);
    else return "value " + literal_to_string(literal) + " is not a number";
    if (!std::isfinite(numeric)) return "value " + literal_to_string(literal) + " is not finite";
  } else if (type == builtin_types::kString) {
    if (!std::holds_alternative<std::string>(literal))
      return "value " + literal_to_string(literal) + " is not a string";
    const auto& text = std::get<std::string>(literal);
    if (!input.options.empty() &&
        std::find(input.options.begin(), input.options.end(), text) == input.options.end())
      return "value \"" + text + "\" is not one of: " + join(input.options, ", ");
    return {};
  } else if (type == builtin_types::kBoolean) {
    if (!std::holds_alternative<bool>(literal)) return "value " + literal_to_string(literal) + " is not true or false";
    return {};
  } else {
    return "takes a link to a " + type + ", not a literal";
  }
  if (input.min && numeric < *input.min)
    return "value " + literal_to_string(literal) + " is below the minimum " + literal_to_string(*input.min);
  if (input.max && numeric > *input.max)
    return "value " + literal_to_string(literal) + " is above the maximum " + literal_to_string(*input.max);
  return {};
}

void find_cycles(const Graph& graph, std::vector<Diagnostic>& out) {
  enum class Mark { None, Active, Done };
  std::map<std::string, Mark> marks;
  std::vector<std::string> stack;
  std::set<std::set<std::string>> reported;

  std::function<void(const std::string&)> visit = [&](const std::string& id) {
    marks[id] = Mark::Active;
    stack.push_back(id);
    const GraphNode& node = graph.nodes.at(id);
    for (const auto& [name, input] : node.inputs) {
      const Link* link = std::get_if<Link>(&input);
      if (!link || !graph.nodes.count(link->node)) continue;
      Mark mark = marks[link->node];
      if (mark == Mark::Active) {
        // The cycle is the part of the stack from the upstream node to here.
        auto start = std::find(stack.begin(), stack.end(), link->node);
        std::vector<std::string> cycle(start, stack.end());
        std::set<std::string> members(cycle.begin(), cycle.end());
        if (reported.insert(members).second) {
          // Print in data-flow order: each node feeds the next.
          std::vector<std::string> flow(cycle.rbegin(), cycle.rend());
          flow.push_back(flow.front());
          out.push_back({node_path(link->node), link->node, "cycle: " + join(flow, " -> ")});
        }
      } else if (mark == Mark::None) {
        visit(link->node);
      }
    }
    stack.pop_back();
    marks[id] = Mark::Done;
  };
  for (const auto& [id, _] : graph.nodes)
    if (marks[id] == Mark::None) visit(id);
}

// The link `link` (into input `input` of node `target`) with bypassed nodes passed through:
// the first linked input of the bypassed node whose type equals the linked output's type,
// repeated while that leads to another bypassed node. nullopt (with a diagnostic) when the
// chain cannot be resolved.
std::optional<Link> pass_through(const Graph& graph, const Registry& registry, Link link,
                                 std::set<std::string>& reported, std::vector<Diagnostic>& out) {
  std::set<std::string> visited;
  for (;;) {
    const GraphNode* source = graph.find(link.node);
    if (!source || !source->bypass) return link;
    auto report = [&](const std::string& key, std::string message) {
      if (reported.insert(key).second) out.push_back({node_path(source->id), source->id, std::move(message)});
      return std::nullopt;
    };
    if (!visited.insert(source->id).second)
      return report("loop:" + source->id, "bypassed node " + source->id + " passes its inputs through in a loop");
    const NodeSpec* spec = registry.find_node(source->type);
    if (!spec)
      return report("type:" + source->id, "unknown node type '" + source->type + "' (bypassed node " + source->id + ")");
    const OutputSpec* output = spec->find_output(link.output);
    if (!output)
      return report("output:" + source->id + "/" + link.output,
                    "bypassed node " + source->id + " (" + source->type + ") has no output '" + link.output +
                        "' (outputs: " + output_names(*spec) + ")");
    const Link* next = nullptr;
    for (const auto& input : spec->inputs) {
      if (input.type != output->type) continue;
      auto it = source->inputs.find(input.name);
      if (it != source->inputs.end() && (next = std::get_if<Link>(&it->second))) break;
    }
    if (!next)
      return report("output:" + source->id + "/" + link.output,
                    "bypassed node " + source->id + " (" + source->type + ") cannot pass output '" + link.output +
                        "' through: it has no linked input of type " + output->type);
    link = *next;
  }
}

std::vector<Diagnostic> validate_resolved(const Graph& graph, const Registry& registry);

}  // namespace

bool has_bypassed_nodes(const Graph& graph) {
  for (const auto& [id, node] : graph.nodes)
    if (node.bypass) return true;
  return false;
}

Graph resolve_bypass(const Graph& graph, const Registry& registry, std::vector<Diagnostic>& diagnostics) {
  Graph resolved;
  resolved.editor = graph.editor;
  std::set<std::string> reported;
  for (const auto& [id, node] : graph.nodes) {
    if (node.bypass) continue;
    GraphNode copy = node;
    for (auto it = copy.inputs.begin(); it != copy.inputs.end();) {
      const Link* link = std::get_if<Link>(&it->second);
      if (!link) {
        ++it;
        continue;
      }
      auto target = pass_through(graph, registry, *link, reported, diagnostics);
      if (target) {
        it->second = *target;
        ++it;
      } else {
        it = copy.inputs.erase(it);
      }
    }
    resolved.nodes.emplace(id, std::move(copy));
  }
  return resolved;
}

std::vector<Diagnostic> validate_graph(const Graph& graph, const Registry& registry) {
  if (!has_bypassed_nodes(graph)) return validate_resolved(graph, registry);
  std::vector<Diagnostic> out;
  const Graph resolved = resolve_bypass(graph, registry, out);
  // An input whose link was dropped would also be reported as missing: say it once.
  for (auto& problem : validate_resolved(resolved, registry)) {
    bool dropped = false;
    for (const auto& [id, node] : graph.nodes) {
      if (id != problem.node_id || node.bypass) continue;
      for (const auto& [name, input] : node.inputs)
        if (std::holds_alternative<Link>(input) && !resolved.nodes.at(id).inputs.count(name) &&
            problem.path == input_path(id, name))
          dropped = true;
    }
    if (!dropped) out.push_back(std::move(problem));
  }
  return out;
}

namespace {

std::vector<Diagnostic> validate_resolved(const Graph& graph, const Registry& registry) {
  std::vector<Diagnostic> out;
  for (const auto& [id, node] : graph.nodes) {
    const NodeSpec* spec = registry.find_node(node.type);
    if (!spec) {
      out.push_back({node_path(id) + "/type", id, "unknown node type '" + node.type + "'"});
      continue;
    }
    for (const auto& [name, value] : node.inputs) {
      const InputSpec* input = spec->find_input(name);
      const std::string path = input_path(id, name);
      if (!input) {
        out.push_back({path, id, "unknown input '" + name + "' for " + node.type + " (inputs: " + input_names(*spec) + ")"});
        continue;
      }
      if (const Literal* literal = std::get_if<Literal>(&value)) {
        if (std::string problem = check_literal(*input, *literal); !problem.empty())
          out.push_back({path, id, "input '" + name + "': " + problem});
        continue;
      }
      const Link& link = std::get<Link>(value);
      const GraphNode* source = graph.find(link.node);
      if (!source) {
        out.push_back({path, id, "input '" + name + "' links to missing node '" + link.node + "'"});
        continue;
      }
      const NodeSpec* source_spec = registry.find_node(source->type);
      if (!source_spec) continue;  // reported on the source node
      const OutputSpec* output = source_spec->find_output(link.output);
      if (!output) {
        out.push_back({path, id, "input '" + name + "' links to output '" + link.output + "' of node " + link.node +
                                     " (" + source->type + "), which has outputs: " + output_names(*source_spec)});
        continue;
      }
      if (!types_compatible(output->type, input->type))
        out.push_back({path, id, "input '" + name + "' expects " + input->type + " but node " + link.node +
                                     " output '" + link.output + "' is " + output->type});
    }
    for (const auto& input : spec->inputs) {
      if (!input.required || node.inputs.count(input.name)) continue;
      if (input.widget && !std::holds_alternative<std::monostate>(input.default_value)) continue;
      out.push_back({input_path(id, input.name), id,
                     "missing required input '" + input.name + "' (" + input.type + ")"});
    }
  }
  find_cycles(graph, out);
  return out;
}

}  // namespace

void require_valid(const Graph& graph, const Registry& registry, std::string_view source) {
  auto diagnostics = validate_graph(graph, registry);
  if (!diagnostics.empty()) throw GraphError(std::string(source), std::move(diagnostics));
}

}  // namespace diffgraph
