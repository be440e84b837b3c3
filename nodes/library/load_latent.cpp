// LoadLatent: reads a .latent file (safetensors) as written by SaveLatent or ComfyUI.
//
// ComfyUI's convention: files carrying a `latent_format_version_0` tensor hold the latent as
// the sampler sees it (already multiplied by the VAE's scale factor). Files from before that
// marker existed stored the samples divided by SD's 0.18215, so without the marker the samples
// are multiplied by 1/0.18215, exactly as ComfyUI's LoadLatent does.
#include <diffgraph/tensor_values.hpp>

#include <diffgraph/plugin.hpp>
#include "models/safetensors.hpp"
#include "pipeline/file_names.hpp"
#include "models/tensor_io.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec load_latent() {
  NodeSpec spec;
  spec.type = "LoadLatent";
  spec.display_name = "Load Latent";
  spec.category = "_for_testing";
  spec.description =
      "Loads latents from a .latent (safetensors) file: the `latent_tensor` entry, multiplied by 1/0.18215 when the "
      "file lacks the `latent_format_version_0` marker (old ComfyUI files), as ComfyUI does.";
  spec.inputs = {InputSpec::text("latent")
                     .describe("the file: a path (absolute or relative to the working directory) or a name in "
                               "the input folder")
                     .options_from([](const Environment& environment) {
                       return list_input_files(environment, {".latent"});
                     })};
  spec.outputs = {{"LATENT", "LATENT", "the loaded latents"}};
  spec.fingerprint = input_file_fingerprint("latent", "latent");
  spec.execute = [](NodeContext& ctx) {
    const auto path = resolve_input_file(ctx.get_string("latent"), ctx.environment(), "latent");
    torch::Tensor samples;
    bool current_format = false;
    try {
      const auto file = models::SafetensorsFile::open(path);
      if (!file.find("latent_tensor"))
        throw NodeError("latent file '" + path.string() + "' has no 'latent_tensor' entry");
      current_format = file.find("latent_format_version_0") != nullptr;
      samples = models::load_tensor(file, "latent_tensor", torch::TensorOptions().dtype(torch::kFloat));
    } catch (const models::SafetensorsError& e) {
      throw NodeError(std::string("cannot load latent: ") + e.what());
    }
    if (samples.dim() != 4)
      throw NodeError("latent file '" + path.string() + "': latent_tensor must be [batch, channels, height, width]");
    if (!current_format) samples.mul_(1.0 / 0.18215);
    ctx.set_output("LATENT", make_value<LatentValue>(std::move(samples)));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(load_latent);

}  // namespace diffgraph::nodes
