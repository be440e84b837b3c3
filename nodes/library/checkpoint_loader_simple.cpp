// CheckpointLoaderSimple ("Load Checkpoint"): a Stable Diffusion checkpoint — one .safetensors
// file or a diffusers folder — as its U-Net, text encoder and VAE.
#include <diffgraph/plugin.hpp>
#include "pipeline/loading.hpp"
#include "pipeline/model_files.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec checkpoint_loader_simple() {
  NodeSpec spec;
  spec.type = "CheckpointLoaderSimple";
  spec.display_name = "Load Checkpoint";
  spec.category = "loaders";
  spec.description =
      "Loads a checkpoint (single-file .safetensors or diffusers folder). The architecture and its "
      "configuration are detected from the weights.";
  spec.inputs = {model_name_input("ckpt_name")};
  spec.outputs = {{"MODEL", "MODEL", "the diffusion U-Net"},
                  {"CLIP", "CLIP", "the text encoder"},
                  {"VAE", "VAE", "the autoencoder"}};
  spec.fingerprint = model_file_fingerprint("ckpt_name");
  spec.execute = [](NodeContext& ctx) {
    const auto& environment = ctx.environment();
    apply_thread_setting(environment);
    const auto options = compute_options(environment);
    const std::string& name = ctx.get_string("ckpt_name");
    const auto info = inspect(resolve_model(environment, name));
    const std::string label = info.path.filename().string();
    ctx.set_output("MODEL", make_value<ModelValue>(load_diffusion_model(info, options, label)));
    auto encoder = load_text_encoder(info, options, label);
    const auto skip = encoder->default_clip_skip;
    ctx.set_output("CLIP", make_value<ClipValue>(std::move(encoder), skip));
    ctx.set_output("VAE", make_value<VaeValue>(load_autoencoder(info, options, label)));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(checkpoint_loader_simple);

}  // namespace diffgraph::nodes
