/// @file graph.hpp
/// The workflow document: nodes with stable ids, literal inputs and links, plus editor
/// metadata the engine keeps but does not interpret. Stored as `diffgraph/1` JSON
/// (docs/workflow-format.md).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "value.hpp"

namespace diffgraph {

/// The format tag written in every workflow file.
inline constexpr std::string_view kWorkflowFormat = "diffgraph/1";

/// A link: the output `output` of node `node`.
struct Link {
  std::string node;
  std::string output;
  bool operator==(const Link&) const = default;
};

/// An input is either a literal or a link.
using InputValue = std::variant<Literal, Link>;

/// One node of a workflow.
struct GraphNode {
  std::string id;    ///< stable, unique within the graph
  std::string type;  ///< a registered node type
  std::map<std::string, InputValue> inputs;
  /// A bypassed node does not run: each of its outputs passes on the link of its first linked
  /// input of the same type (resolve_bypass in validation.hpp). Saved as `"bypass": true`.
  bool bypass = false;
  /// Editor state (position, size, colour, collapsed...): kept on load/save, ignored by the engine.
  nlohmann::json editor = nlohmann::json::object();
  bool operator==(const GraphNode&) const = default;
};

/// A workflow.
struct Graph {
  std::map<std::string, GraphNode> nodes;  ///< by id
  /// Graph-level editor state (groups, comments, view): kept, ignored by the engine.
  nlohmann::json editor = nlohmann::json::object();
  bool operator==(const Graph&) const = default;

  const GraphNode* find(std::string_view id) const;
  GraphNode* find(std::string_view id);
};

/// Parses `diffgraph/1` JSON. Reports every problem at once in a GraphError (malformed JSON
/// names the byte position; structural problems name their JSON path). `source` names the
/// file in messages.
Graph parse_graph(std::string_view json_text, std::string_view source = "<string>");
/// Reads and parses a workflow file.
Graph load_graph(const std::filesystem::path& path);
/// The graph as JSON value / text: stable key order and 2-space indentation, so a
/// load → save → load round trip is identical and diffs stay small.
nlohmann::json graph_to_json(const Graph& graph);
std::string serialize_graph(const Graph& graph);
/// Writes the graph atomically (temporary file, then rename).
void save_graph(const Graph& graph, const std::filesystem::path& path);

/// Parses a `--set`-style literal: integers, floats, true/false; anything else is a string.
Literal parse_literal_text(std::string_view text);

/// Writes `contents` to `path` atomically: a temporary file in the same folder, flushed, then
/// renamed over the target, so readers never see a half-written file.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents);

}  // namespace diffgraph
