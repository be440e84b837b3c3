// CFGGuider: a model with positive and negative conditioning and a CFG scale.
#include <diffgraph/plugin.hpp>
#include "pipeline/common_inputs.hpp"
#include "pipeline/model_values.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec cfg_guider() {
  NodeSpec spec;
  spec.type = "CFGGuider";
  spec.category = "sampling/custom_sampling/guiders";
  spec.description = "Classifier-free guidance: uncond + cfg·(cond − uncond).";
  spec.inputs = {InputSpec::link("model", "MODEL"), InputSpec::link("positive", "CONDITIONING"),
                 InputSpec::link("negative", "CONDITIONING"), cfg_input()};
  spec.outputs = {{"GUIDER", "GUIDER", "the guider"}};
  spec.execute = [](NodeContext& ctx) {
    ctx.set_output("GUIDER", make_value<GuiderValue>(ctx.get<ModelValue>("model"),
                                                     ctx.get<ConditioningValue>("positive"),
                                                     ctx.get<ConditioningValue>("negative"), ctx.get_float("cfg")));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(cfg_guider);

}  // namespace diffgraph::nodes
