// The node types of the prompt_template plugin. Each node file defines one factory; plugin.cpp
// registers them all.
#pragma once

#include <diffgraph/node_spec.hpp>

namespace prompt_template {

/// PromptTemplate: fills {placeholders} in a template from a, b, c and key=value lines.
diffgraph::NodeSpec prompt_template_node();
/// Wildcards: picks one alternative of every {red|green|blue} group, reproducibly per seed.
diffgraph::NodeSpec wildcards_node();

}  // namespace prompt_template
