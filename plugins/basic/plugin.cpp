#include <diffgraph/plugin.hpp>

#include "nodes/basic_nodes.hpp"

using namespace diffgraph;

DIFFGRAPH_PLUGIN(registrar) {
  registrar.set_info("basic", "1.0", "Primitives, math, text and display nodes");
  for (auto make : {basic::int_node, basic::float_node, basic::string_node, basic::boolean_node,
                    basic::int_math_node, basic::float_math_node, basic::string_concat_node,
                    basic::string_replace_node, basic::read_text_file_node, basic::save_text_node,
                    basic::display_node})
    registrar.add_node(make());
}
