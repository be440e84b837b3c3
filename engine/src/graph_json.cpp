// Reading and writing the `diffgraph/1` workflow format (docs/workflow-format.md).
#include <fstream>
#include <limits>
#include <sstream>

#include "diffgraph/errors.hpp"
#include "diffgraph/graph.hpp"

namespace diffgraph {

using nlohmann::json;

namespace {

std::string pointer_token(std::string_view key) {
  // RFC 6901 escaping, so a path stays unambiguous whatever the ids contain.
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return "/" + out;
}

const char* json_kind(const json& value) {
  switch (value.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number";
    default: return "an unsupported value";
  }
}

class GraphReader {
 public:
  explicit GraphReader(std::string_view source) : source_(source) {}

  Graph read(const json& root) {
    Graph graph;
    if (!root.is_object()) {
      fail("", "", std::string("the workflow must be a JSON object, not ") + json_kind(root));
      return graph;
    }
    for (const auto& [key, value] : root.items()) {
      if (key != "format" && key != "nodes" && key != "editor")
        fail(pointer_token(key), "", "unknown key '" + key + "' (expected format, nodes, editor)");
    }
    auto format = root.find("format");
    if (format == root.end()) fail("/format", "", "missing \"format\": \"diffgraph/1\"");
    else if (!format->is_string() || format->get<std::string>() != kWorkflowFormat)
      fail("/format", "", "unsupported format " + format->dump() + " (expected \"diffgraph/1\")");

    auto editor = root.find("editor");
    if (editor != root.end()) {
      if (editor->is_object()) graph.editor = *editor;
      else fail("/editor", "", std::string("\"editor\" must be an object, not ") + json_kind(*editor));
    }

    auto nodes = root.find("nodes");
    if (nodes == root.end()) {
      fail("/nodes", "", "missing \"nodes\"");
    } else if (!nodes->is_object()) {
      fail("/nodes", "", std::string("\"nodes\" must be an object keyed by node id, not ") + json_kind(*nodes));
    } else {
      for (const auto& [id, node] : nodes->items()) read_node(graph, id, node);
    }
    return graph;
  }

  void fail(std::string path, std::string node, std::string message) {
    diagnostics_.push_back({std::move(path), std::move(node), std::move(message)});
  }
  std::vector<Diagnostic>& diagnostics() { return diagnostics_; }

 private:
  void read_node(Graph& graph, const std::string& id, const json& node) {
    const std::string path = "/nodes" + pointer_token(id);
    if (id.empty()) {
      fail(path, id, "a node id must not be empty");
      return;
    }
    if (!node.is_object()) {
      fail(path, id, std::string("a node must be an object, not ") + json_kind(node));
      return;
    }
    GraphNode out;
    out.id = id;
    for (const auto& [key, value] : node.items()) {
      if (key != "type" && key != "inputs" && key != "editor" && key != "bypass")
        fail(path + pointer_token(key), id, "unknown key '" + key + "' (expected type, inputs, bypass, editor)");
    }
    auto type = node.find("type");
    if (type == node.end()) fail(path + "/type", id, "missing \"type\"");
    else if (!type->is_string() || type->get<std::string>().empty())
      fail(path + "/type", id, "\"type\" must be a non-empty string");
    else out.type = type->get<std::string>();

    auto bypass = node.find("bypass");
    if (bypass != node.end()) {
      if (bypass->is_boolean()) out.bypass = bypass->get<bool>();
      else fail(path + "/bypass", id, std::string("\"bypass\" must be true or false, not ") + json_kind(*bypass));
    }

    auto editor = node.find("editor");
    if (editor != node.end()) {
      if (editor->is_object()) out.editor = *editor;
      else fail(path + "/editor", id, std::string("\"editor\" must be an object, not ") + json_kind(*editor));
    }

    auto inputs = node.find("inputs");
    if (inputs != node.end()) {
      if (!inputs->is_object()) {
        fail(path + "/inputs", id, std::string("\"inputs\" must be an object, not ") + json_kind(*inputs));
      } else {
        for (const auto& [name, value] : inputs->items()) {
          auto input = read_input(path + "/inputs" + pointer_token(name), id, value);
          if (input) out.inputs.emplace(name, std::move(*input));
        }
      }
    }
    graph.nodes.emplace(id, std::move(out));
  }

  std::optional<InputValue> read_input(const std::string& path, const std::string& id, const json& value) {
    switch (value.type()) {
      case json::value_t::boolean: return Literal(value.get<bool>());
      case json::value_t::number_integer: return Literal(value.get<std::int64_t>());
      case json::value_t::number_unsigned: {
        // Integers above INT64_MAX (seeds up to 2^64-1) keep their 64 bits, as two's complement.
        return Literal(static_cast<std::int64_t>(value.get<std::uint64_t>()));
      }
      case json::value_t::number_float: return Literal(value.get<double>());
      case json::value_t::string: return Literal(value.get<std::string>());
      case json::value_t::object: {
        auto node = value.find("node");
        auto output = value.find("output");
        if (value.size() == 2 && node != value.end() && output != value.end() && node->is_string() &&
            output->is_string())
          return Link{node->get<std::string>(), output->get<std::string>()};
        fail(path, id, "a link must be {\"node\": \"<id>\", \"output\": \"<name>\"}, got " + value.dump());
        return std::nullopt;
      }
      default:
        fail(path, id, std::string("an input must be a literal or a link, not ") + json_kind(value));
        return std::nullopt;
    }
  }

  std::string source_;
  std::vector<Diagnostic> diagnostics_;
};

std::string position_of(std::string_view text, std::size_t byte) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

json input_json(const InputValue& input) {
  if (const Link* link = std::get_if<Link>(&input)) return json{{"node", link->node}, {"output", link->output}};
  const Literal& literal = std::get<Literal>(input);
  struct Visitor {
    json operator()(std::monostate) const { return nullptr; }
    json operator()(bool v) const { return v; }
    json operator()(std::int64_t v) const { return v; }
    json operator()(double v) const { return v; }
    json operator()(const std::string& v) const { return v; }
  };
  return std::visit(Visitor{}, literal);
}

}  // namespace

Graph parse_graph(std::string_view json_text, std::string_view source) {
  json root;
  try {
    root = json::parse(json_text.begin(), json_text.end());
  } catch (const json::parse_error& e) {
    // nlohmann reports the byte just past the problem; show it as line and column.
    const std::size_t byte = e.byte > 0 ? e.byte - 1 : 0;
    std::string what = e.what();
    if (auto colon = what.rfind(": "); colon != std::string::npos) what = what.substr(colon + 2);
    throw GraphError(std::string(source),
                     {Diagnostic{"", "", "malformed JSON at " + position_of(json_text, byte) + " (byte " +
                                             std::to_string(byte) + "): " + what}});
  } catch (const json::exception& e) {
    // Not a syntax error (e.g. a number too large for a double): nlohmann gives no position.
    std::string what = e.what();
    if (auto bracket = what.find("] "); bracket != std::string::npos) what = what.substr(bracket + 2);
    throw GraphError(std::string(source), {Diagnostic{"", "", "malformed JSON: " + what}});
  }
  GraphReader reader(source);
  Graph graph = reader.read(root);
  if (!reader.diagnostics().empty()) throw GraphError(std::string(source), std::move(reader.diagnostics()));
  return graph;
}

Graph load_graph(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw GraphError(path.string(), {Diagnostic{"", "", "cannot open the file"}});
  std::ostringstream text;
  text << in.rdbuf();
  return parse_graph(text.str(), path.string());
}

json graph_to_json(const Graph& graph) {
  json root;
  root["format"] = kWorkflowFormat;
  json nodes = json::object();
  for (const auto& [id, node] : graph.nodes) {
    json n;
    n["type"] = node.type;
    json inputs = json::object();
    for (const auto& [name, input] : node.inputs) inputs[name] = input_json(input);
    n["inputs"] = std::move(inputs);
    if (node.bypass) n["bypass"] = true;
    if (!node.editor.empty()) n["editor"] = node.editor;
    nodes[id] = std::move(n);
  }
  root["nodes"] = std::move(nodes);
  if (!graph.editor.empty()) root["editor"] = graph.editor;
  return root;
}

std::string serialize_graph(const Graph& graph) { return graph_to_json(graph).dump(2) + "\n"; }

void save_graph(const Graph& graph, const std::filesystem::path& path) {
  write_file_atomically(path, serialize_graph(graph));
}

}  // namespace diffgraph
