// SetLatentNoiseMask: attaches a mask to latents so sampling only repaints where it is 1.
#include <diffgraph/tensor_values.hpp>

#include <diffgraph/plugin.hpp>

namespace diffgraph::nodes {

namespace {

NodeSpec set_latent_noise_mask() {
  NodeSpec spec;
  spec.type = "SetLatentNoiseMask";
  spec.display_name = "Set Latent Noise Mask";
  spec.category = "latent/inpaint";
  spec.description =
      "Attaches `mask` to the latents as their noise mask: sampling then changes only where the mask is 1 (blending "
      "where it is between). The mask may have any resolution and batch size; the sampler resizes it to the latent and repeats it "
      "over the batch.";
  spec.inputs = {InputSpec::link("samples", "LATENT"), InputSpec::link("mask", "MASK")};
  spec.outputs = {{"LATENT", "LATENT", "the same latents with the noise mask"}};
  spec.execute = [](NodeContext& ctx) {
    const auto latent = ctx.get<LatentValue>("samples");
    const torch::Tensor& mask = ctx.get<MaskValue>("mask")->mask();
    // Values are immutable, so the samples tensor is shared, not copied.
    ctx.set_output("LATENT", make_value<LatentValue>(latent->samples(), mask));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(set_latent_noise_mask);

}  // namespace diffgraph::nodes
