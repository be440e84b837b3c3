// CLIPSetLastLayer ("clip skip"): which layer of the text encoder the conditioning comes from.
#include <diffgraph/plugin.hpp>
#include "pipeline/model_values.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec clip_set_last_layer() {
  NodeSpec spec;
  spec.type = "CLIPSetLastLayer";
  spec.display_name = "CLIP Set Last Layer";
  spec.category = "conditioning";
  spec.description = "-1 uses the last layer, -2 the one before it (\"clip skip 2\"), and so on; the final "
                     "layer norm is applied either way.";
  spec.inputs = {InputSpec::link("clip", "CLIP"), InputSpec::integer("stop_at_clip_layer", -1).range(-24, -1)};
  spec.outputs = {{"CLIP", "CLIP", "the same encoder, stopping at that layer"}};
  spec.execute = [](NodeContext& ctx) {
    const auto clip = ctx.get<ClipValue>("clip");
    const std::int64_t skip = -ctx.get_int("stop_at_clip_layer");
    const std::int64_t layers = clip->encoder().model->config.layers;
    if (skip > layers)
      throw NodeError("stop_at_clip_layer " + std::to_string(-skip) + " is beyond the encoder's " +
                      std::to_string(layers) + " layers");
    ctx.set_output("CLIP", make_value<ClipValue>(clip->shared_encoder(), skip));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(clip_set_last_layer);

}  // namespace diffgraph::nodes
