// CLIPTextEncode: a prompt as conditioning. Prompts longer than 75 tokens are encoded in
// several 77-token windows whose encodings are concatenated, as in ComfyUI and A1111.
#include <diffgraph/plugin.hpp>
#include "pipeline/model_files.hpp"
#include "pipeline/model_values.hpp"

namespace diffgraph::nodes {

namespace {

NodeSpec clip_text_encode() {
  NodeSpec spec;
  spec.type = "CLIPTextEncode";
  spec.display_name = "CLIP Text Encode (Prompt)";
  spec.category = "conditioning";
  spec.description = "Encodes a text prompt with the CLIP text encoder.";
  spec.inputs = {InputSpec::text("text").multiline_text().describe("the prompt"), InputSpec::link("clip", "CLIP")};
  spec.outputs = {{"CONDITIONING", "CONDITIONING", "the prompt's encoding"}};
  spec.execute = [](NodeContext& ctx) {
    apply_thread_setting(ctx.environment());
    const auto clip = ctx.get<ClipValue>("clip");
    auto entry = clip->encoder().encode(ctx.get_string("text"), clip->clip_skip());
    ctx.set_output("CONDITIONING", make_value<ConditioningValue>(std::vector<ConditioningEntry>{std::move(entry)}));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(clip_text_encode);

}  // namespace diffgraph::nodes
