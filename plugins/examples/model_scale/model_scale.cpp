// model_scale: an example plugin that takes a MODEL and returns a changed one, written against
// the installed SDK's diffusion pipeline library (find_package(diffgraph COMPONENTS diffusion)).
//
// ModelOutputScale wraps the model's network call: every prediction the sampler asks for (the
// prompt's and the negative prompt's, before classifier-free guidance blends them) is multiplied
// by `scale`. The MODEL it receives is left as it is: the node returns a copy that shares the
// network's weights and carries one more wrapper (DiffusionModel::with_wrapper).
#include <string>

#include <diffgraph/plugin.hpp>

#include "pipeline/model_values.hpp"

using namespace diffgraph;

namespace {

NodeSpec model_output_scale() {
  NodeSpec spec;
  spec.type = "ModelOutputScale";
  spec.display_name = "Model Output Scale";
  spec.category = "advanced/model";
  spec.description =
      "Multiplies the model's prediction (ε or v, before guidance) by `scale`; 1 leaves the model unchanged.";
  spec.inputs = {
      InputSpec::link("model", "MODEL"),
      InputSpec::number("scale", 1.0).range(0.0, 10.0, 0.01).describe("factor on every prediction of the network"),
  };
  spec.outputs = {{"MODEL", "MODEL", "the model with its prediction scaled"}};
  spec.execute = [](NodeContext& ctx) {
    const auto& model = ctx.get<nodes::ModelValue>("model")->model();
    const double scale = ctx.get_float("scale");
    auto scaled = model.with_wrapper(
        [scale](const torch::Tensor& x, const torch::Tensor& timesteps, const models::ModelInputs& inputs,
                const nodes::NetworkCall& next) { return next(x, timesteps, inputs) * scale; },
        model.name + " ×" + std::to_string(scale));
    ctx.set_output("MODEL", make_value<nodes::ModelValue>(std::move(scaled)));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(model_output_scale);

DIFFGRAPH_PLUGIN(registrar) {
  registrar.set_info("model_scale", "1.0", "An example MODEL wrapper: scales the model's prediction");
}
