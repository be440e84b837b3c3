// The node types of the `basic` plugin, one file each (primitives.cpp holds the four
// one-widget constants).
#pragma once

#include <diffgraph/node_spec.hpp>

namespace diffgraph::basic {

NodeSpec int_node();
NodeSpec float_node();
NodeSpec string_node();
NodeSpec boolean_node();
NodeSpec int_math_node();
NodeSpec float_math_node();
NodeSpec string_concat_node();
NodeSpec string_replace_node();
NodeSpec read_text_file_node();
NodeSpec save_text_node();
NodeSpec display_node();

}  // namespace diffgraph::basic
