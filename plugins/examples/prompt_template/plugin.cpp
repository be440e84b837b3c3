// The plugin's entry points: the ABI version it was built for and the registration of its nodes.
#include <diffgraph/plugin.hpp>

#include "prompt_nodes.hpp"

DIFFGRAPH_PLUGIN(registrar) {
  registrar.set_info("prompt_template", "1.0", "Prompt text tools: templates with placeholders, seeded wildcards");
  registrar.add_node(prompt_template::prompt_template_node());
  registrar.add_node(prompt_template::wildcards_node());
}
