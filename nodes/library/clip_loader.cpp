// CLIPLoader ("Load CLIP"): only the text encoder of a checkpoint file or diffusers folder.
#include <diffgraph/plugin.hpp>
#include "pipeline/loading.hpp"
#include "pipeline/model_files.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec clip_loader() {
  NodeSpec spec;
  spec.type = "CLIPLoader";
  spec.display_name = "Load CLIP";
  spec.category = "loaders";
  spec.description = "Loads the CLIP text encoder of a checkpoint or a text-encoder-only file.";
  spec.inputs = {model_name_input("clip_name")};
  spec.outputs = {{"CLIP", "CLIP", "the text encoder"}};
  spec.fingerprint = model_file_fingerprint("clip_name");
  spec.execute = [](NodeContext& ctx) {
    apply_thread_setting(ctx.environment());
    const auto info = inspect(resolve_model(ctx.environment(), ctx.get_string("clip_name")));
    auto encoder = load_text_encoder(info, compute_options(ctx.environment()), info.path.filename().string());
    const auto skip = encoder->default_clip_skip;
    ctx.set_output("CLIP", make_value<ClipValue>(std::move(encoder), skip));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(clip_loader);

}  // namespace diffgraph::nodes
