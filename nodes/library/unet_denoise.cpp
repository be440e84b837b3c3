// UNetDenoise: one model evaluation — the U-Net's estimate of the clean latent (x0) for a noisy
// latent at sigmas[step_index], under one conditioning. Two of them (positive and negative)
// feed CFGBlend in an unrolled sampling loop.
#include <diffgraph/plugin.hpp>
#include "pipeline/denoising.hpp"
#include "pipeline/model_files.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec unet_denoise() {
  NodeSpec spec;
  spec.type = "UNetDenoise";
  spec.display_name = "U-Net Denoise";
  spec.category = "sampling/unrolled";
  spec.description = "The model's denoised estimate D(x, σ) of `latent` at σ = sigmas[step_index], without guidance.";
  spec.inputs = {InputSpec::link("model", "MODEL"), InputSpec::link("latent", "LATENT"),
                 InputSpec::link("sigmas", "SIGMAS"), InputSpec::integer("step_index", 0).range(0, 10000),
                 InputSpec::link("conditioning", "CONDITIONING")};
  spec.outputs = {{"LATENT", "LATENT", "the denoised (x0) estimate"}};
  spec.execute = [](NodeContext& ctx) {
    apply_thread_setting(ctx.environment());
    const auto& model = ctx.get<ModelValue>("model")->model();
    const auto& sigmas = ctx.get<SigmasValue>("sigmas")->sigmas();
    const std::int64_t i = ctx.get_int("step_index");
    if (i >= sigmas.size(0) - 1)
      throw NodeError("step_index " + std::to_string(i) + " is past the last step (" +
                      std::to_string(sigmas.size(0) - 1) + " steps)");
    const auto& x = ctx.get<LatentValue>("latent")->samples();
    const auto sigma = sigmas[i].expand({x.size(0)}).contiguous();
    ctx.set_output("LATENT", make_value<LatentValue>(denoise(model, *ctx.get<ConditioningValue>("conditioning"), x, sigma)));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(unet_denoise);

}  // namespace diffgraph::nodes
