// UNETLoader ("Load Diffusion Model"): only the U-Net of a checkpoint file or diffusers folder.
#include <diffgraph/plugin.hpp>
#include "pipeline/loading.hpp"
#include "pipeline/model_files.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec unet_loader() {
  NodeSpec spec;
  spec.type = "UNETLoader";
  spec.display_name = "Load Diffusion Model";
  spec.category = "loaders";
  spec.description = "Loads the diffusion U-Net of a checkpoint or a U-Net-only file.";
  spec.inputs = {model_name_input("unet_name")};
  spec.outputs = {{"MODEL", "MODEL", "the diffusion U-Net"}};
  spec.fingerprint = model_file_fingerprint("unet_name");
  spec.execute = [](NodeContext& ctx) {
    apply_thread_setting(ctx.environment());
    const auto info = inspect(resolve_model(ctx.environment(), ctx.get_string("unet_name")));
    ctx.set_output("MODEL", make_value<ModelValue>(load_diffusion_model(
                                info, compute_options(ctx.environment()), info.path.filename().string())));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(unet_loader);

}  // namespace diffgraph::nodes
