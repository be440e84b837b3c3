// ConditioningCombine: both conditionings at once; the sampler averages their predictions.
#include <diffgraph/plugin.hpp>
#include "pipeline/model_values.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec conditioning_combine() {
  NodeSpec spec;
  spec.type = "ConditioningCombine";
  spec.display_name = "Conditioning (Combine)";
  spec.category = "conditioning";
  spec.description = "Guides with both conditionings: the model's predictions for each are averaged.";
  spec.inputs = {InputSpec::link("conditioning_1", "CONDITIONING"), InputSpec::link("conditioning_2", "CONDITIONING")};
  spec.outputs = {{"CONDITIONING", "CONDITIONING", "both encodings"}};
  spec.execute = [](NodeContext& ctx) {
    auto entries = ctx.get<ConditioningValue>("conditioning_1")->entries();
    const auto& more = ctx.get<ConditioningValue>("conditioning_2")->entries();
    entries.insert(entries.end(), more.begin(), more.end());
    ctx.set_output("CONDITIONING", make_value<ConditioningValue>(std::move(entries)));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(conditioning_combine);

}  // namespace diffgraph::nodes
