// BasicScheduler: a model's noise levels for a step count — the SIGMAS a custom sampler walks.
#include <diffgraph/plugin.hpp>
#include "sampling/sampling_plan.hpp"
#include "pipeline/common_inputs.hpp"
#include "pipeline/model_values.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec basic_scheduler() {
  NodeSpec spec;
  spec.type = "BasicScheduler";
  spec.category = "sampling/custom_sampling/schedulers";
  spec.description = "steps+1 noise levels (σ) ending in 0; with denoise < 1, the last steps of a longer schedule.";
  spec.inputs = {InputSpec::link("model", "MODEL"), scheduler_input(), steps_input(), denoise_input()};
  spec.outputs = {{"SIGMAS", "SIGMAS", "the noise levels"}};
  spec.execute = [](NodeContext& ctx) {
    const auto& model = ctx.get<ModelValue>("model")->model();
    ctx.set_output("SIGMAS", make_value<SigmasValue>(sampling::sigmas_for_denoise(
                                 model.schedule, ctx.get_string("scheduler"), ctx.get_int("steps"),
                                 ctx.get_float("denoise"))));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(basic_scheduler);

}  // namespace diffgraph::nodes
