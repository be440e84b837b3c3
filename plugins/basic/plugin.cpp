// The basic plugin's entry point; every node file registers its own node (DIFFGRAPH_NODE).
#include <diffgraph/plugin.hpp>

DIFFGRAPH_PLUGIN(registrar) { registrar.set_info("basic", "1.0", "Primitives, math, text and display nodes"); }
