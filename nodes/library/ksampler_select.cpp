// KSamplerSelect: picks a sampling algorithm by name.
#include <diffgraph/plugin.hpp>
#include "pipeline/common_inputs.hpp"
#include "pipeline/model_values.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec ksampler_select() {
  NodeSpec spec;
  spec.type = "KSamplerSelect";
  spec.category = "sampling/custom_sampling/samplers";
  spec.description = "A sampler for SamplerCustomAdvanced and SchedulerStep.";
  spec.inputs = {sampler_input()};
  spec.outputs = {{"SAMPLER", "SAMPLER", "the sampler"}};
  spec.execute = [](NodeContext& ctx) {
    ctx.set_output("SAMPLER", make_value<SamplerValue>(ctx.get_string("sampler_name")));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(ksampler_select);

}  // namespace diffgraph::nodes
