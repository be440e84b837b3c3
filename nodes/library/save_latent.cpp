// SaveLatent: writes latents as a safetensors file ComfyUI's LoadLatent reads, under a new
// numbered name in the output folder (default <output>/latents/diffgraph_00001_.latent).
#include <diffgraph/tensor_values.hpp>

#include <diffgraph/plugin.hpp>
#include "pipeline/file_names.hpp"
#include "models/tensor_io.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec save_latent() {
  NodeSpec spec;
  spec.type = "SaveLatent";
  spec.display_name = "Save Latent";
  spec.category = "_for_testing";
  spec.description =
      "Saves the latents to <output>/<filename_prefix>_00001_.latent, numbering on and never overwriting: a "
      "safetensors file with the samples as `latent_tensor` and the empty marker `latent_format_version_0` (the "
      "layout ComfyUI writes), and the workflow in the metadata. The noise mask is not saved.";
  spec.output_node = true;
  spec.inputs = {InputSpec::link("samples", "LATENT"),
                 InputSpec::text("filename_prefix", "latents/diffgraph")
                     .describe("file name start, after optional sub-folders of the output folder")};
  spec.execute = [](NodeContext& ctx) {
    const torch::Tensor& samples = ctx.get<LatentValue>("samples")->samples();
    NumberedOutputFiles files(ctx.environment().output_dir, ctx.get_string("filename_prefix"));
    const auto path = files.claim("_.latent");
    try {
      // save_tensors writes a temporary beside the claimed name and renames it over that name.
      models::save_tensors(path,
                           {{"latent_tensor", samples.contiguous()},
                            // Its presence says the samples are already scaled (see LoadLatent).
                            {"latent_format_version_0", torch::empty({0}, torch::kFloat)}},
                           {{"workflow", ctx.workflow_json()}});
    } catch (const std::exception& e) {
      std::error_code ignored;
      std::filesystem::remove(path, ignored);
      throw NodeError(std::string("cannot save latent: ") + e.what());
    }
    ctx.add_result({{"latent", path.string()}});
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(save_latent);

}  // namespace diffgraph::nodes
