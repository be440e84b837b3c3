// How node files of the diffusion library register themselves: each file ends with
// DIFFGRAPH_NODE(its_factory), and the plugin's entry point registers every factory listed.
#pragma once

#include <vector>

#include <diffgraph/node_spec.hpp>

namespace diffgraph::nodes {

using NodeFactory = NodeSpec (*)();

/// Every node factory of the library, in static-initialisation order.
std::vector<NodeFactory>& node_factories();

struct NodeRegistration {
  explicit NodeRegistration(NodeFactory factory) { node_factories().push_back(factory); }
};

}  // namespace diffgraph::nodes

/// Adds a node factory to the library (use once per node file, at namespace scope).
#define DIFFGRAPH_NODE(factory) \
  static const ::diffgraph::nodes::NodeRegistration factory##_registration_{factory}
