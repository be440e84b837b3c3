// CFGBlend: classifier-free guidance of two predictions, uncond + cfg·(cond − uncond).
#include "sampling/guidance.hpp"
#include <diffgraph/plugin.hpp>
#include "pipeline/common_inputs.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec cfg_blend() {
  NodeSpec spec;
  spec.type = "CFGBlend";
  spec.display_name = "CFG Blend";
  spec.category = "sampling/unrolled";
  spec.description = "uncond + cfg·(cond − uncond) of two denoised estimates (UNetDenoise outputs).";
  spec.inputs = {InputSpec::link("cond", "LATENT"), InputSpec::link("uncond", "LATENT"), cfg_input()};
  spec.outputs = {{"LATENT", "LATENT", "the guided estimate"}};
  spec.execute = [](NodeContext& ctx) {
    const auto& cond = ctx.get<LatentValue>("cond")->samples();
    const auto& uncond = ctx.get<LatentValue>("uncond")->samples();
    if (!cond.sizes().equals(uncond.sizes())) throw NodeError("cond and uncond have different shapes");
    ctx.set_output("LATENT", make_value<LatentValue>(sampling::cfg_blend(cond, uncond, ctx.get_float("cfg"))));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(cfg_blend);

}  // namespace diffgraph::nodes
