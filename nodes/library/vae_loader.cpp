// VAELoader ("Load VAE"): only the autoencoder of a checkpoint file or diffusers folder.
#include <diffgraph/plugin.hpp>
#include "pipeline/loading.hpp"
#include "pipeline/model_files.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec vae_loader() {
  NodeSpec spec;
  spec.type = "VAELoader";
  spec.display_name = "Load VAE";
  spec.category = "loaders";
  spec.description = "Loads the KL autoencoder of a checkpoint or a VAE-only file.";
  spec.inputs = {model_name_input("vae_name")};
  spec.outputs = {{"VAE", "VAE", "the autoencoder"}};
  spec.fingerprint = model_file_fingerprint("vae_name");
  spec.execute = [](NodeContext& ctx) {
    const auto info = inspect(resolve_model(ctx.environment(), ctx.get_string("vae_name")));
    ctx.set_output("VAE", make_value<VaeValue>(load_autoencoder(info, compute_options(ctx.environment()),
                                                                info.path.filename().string())));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(vae_loader);

}  // namespace diffgraph::nodes
