/// @file validation.hpp
/// Checking a workflow against the registered node types before running it.
#pragma once

#include <vector>

#include "errors.hpp"
#include "graph.hpp"
#include "registry.hpp"

namespace diffgraph {

/// True when some node of `graph` is bypassed.
bool has_bypassed_nodes(const Graph& graph);

/// The graph a run executes when nodes are bypassed: bypassed nodes are left out, and a link to
/// an output of a bypassed node is replaced by the link of that node's first linked input of
/// the same type (following chains of bypassed nodes). A used output with no such input, a
/// bypassed node of unknown type and a loop of bypassed nodes are added to `diagnostics`, each
/// naming the bypassed node; the link concerned is then dropped. Cheap when nothing is bypassed.
Graph resolve_bypass(const Graph& graph, const Registry& registry, std::vector<Diagnostic>& diagnostics);

/// Every problem of `graph`, each naming its node: unknown node type, unknown input,
/// missing required input, literal of the wrong type or on a link-only input, value out of
/// range or not among the options, dangling link (missing node or output), link type
/// mismatch, cycles (listing the nodes of the cycle) and bypassed nodes that cannot pass an
/// output through. Bypassed nodes are checked as resolve_bypass leaves the graph (their own
/// literals are not, since they do not run). Empty when the graph is valid.
std::vector<Diagnostic> validate_graph(const Graph& graph, const Registry& registry);

/// Throws GraphError listing every problem when validate_graph finds any.
void require_valid(const Graph& graph, const Registry& registry, std::string_view source = "<graph>");

}  // namespace diffgraph
