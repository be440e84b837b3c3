/// @file validation.hpp
/// Checking a workflow against the registered node types before running it.
#pragma once

#include <vector>

#include "errors.hpp"
#include "graph.hpp"
#include "registry.hpp"

namespace diffgraph {

/// Every problem of `graph`, each naming its node: unknown node type, unknown input,
/// missing required input, literal of the wrong type or on a link-only input, value out of
/// range or not among the options, dangling link (missing node or output), link type
/// mismatch, and cycles (listing the nodes of the cycle). Empty when the graph is valid.
std::vector<Diagnostic> validate_graph(const Graph& graph, const Registry& registry);

/// Throws GraphError listing every problem when validate_graph finds any.
void require_valid(const Graph& graph, const Registry& registry, std::string_view source = "<graph>");

}  // namespace diffgraph
