// unet_config.hpp — the SD U-Net's hyper-parameters: read from CompVis or diffusers config
// files (UNetConfig::from_json), written back (to_json), and detected from a checkpoint's tensor
// shapes (detect_unet_config). The network itself is unet.hpp.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "weights.hpp"

namespace diffgraph::models {

/// Hyper-parameters of the U-Net, in CompVis names. The defaults are SD 1.5's.
struct UNetConfig {
  std::int64_t in_channels = 4;
  std::int64_t out_channels = 4;
  std::int64_t model_channels = 320;                   ///< width of level 0
  std::vector<std::int64_t> channel_mult{1, 2, 4, 4};  ///< width of level i = model_channels·mult[i]
  std::int64_t num_res_blocks = 2;                     ///< ResBlocks per level on the way down
  /// Downsampling factors ds (1, 2, 4, … = 2^level) whose ResBlocks are followed by a
  /// SpatialTransformer. The middle block always has one.
  std::vector<std::int64_t> attention_resolutions{4, 2, 1};
  /// Heads: a fixed count at every level (SD1, `num_heads`), or a fixed head width
  /// (SD2, `num_head_channels`, heads = channels / width). Exactly one is positive; the other is -1.
  std::int64_t num_heads = 8;
  std::int64_t num_head_channels = -1;
  /// BasicTransformerBlocks per SpatialTransformer: the same at every level with attention and in
  /// the middle block (SD1/SD2), or -1 when they differ (SDXL base: [0, 2, 10], middle 10); then
  /// transformer_depth_levels holds one count per level (0 where a level has no attention) and
  /// transformer_depth_middle the middle block's. Kept in this canonical form by from_json and
  /// detection, so configs that build the same network compare equal.
  std::int64_t transformer_depth = 1;
  std::vector<std::int64_t> transformer_depth_levels;
  std::int64_t transformer_depth_middle = -1;
  /// Width of the `y` vector the label embedding (`label_emb`, sgm's num_classes "sequential")
  /// adds to the timestep embedding: SDXL base 2816, refiner 2560; 0 = no label_emb.
  std::int64_t adm_in_channels = 0;
  std::int64_t context_dim = 768;      ///< width of the cross-attention context tokens
  /// proj_in/proj_out are Linear [C,C] on tokens (SD2) rather than 1×1 convs [C,C,1,1] (SD1).
  bool use_linear_in_transformer = false;
  std::int64_t norm_groups = 32;  ///< GroupNorm groups everywhere

  /// Overrides the fields `json` names, starting from `base` (so `from_json(overrides, detected)`
  /// is the merge of a config file over shape detection). Accepts
  ///  * CompVis/Stability-AI names: in_channels, out_channels, model_channels, channel_mult,
  ///    num_res_blocks, attention_resolutions, num_heads, num_head_channels, transformer_depth
  ///    (a count or one per level), transformer_depth_middle, context_dim,
  ///    use_linear_in_transformer, num_classes "sequential" with adm_in_channels (image_size,
  ///    legacy, use_checkpoint, use_fp16, dropout, spatial_transformer_attn_type are ignored); an
  ///    LDM `{"target", "params": {…}}` wrapper is unwrapped;
  ///  * diffusers UNet2DConditionModel names: block_out_channels, layers_per_block,
  ///    down_block_types (CrossAttn* levels get attention), attention_head_dim /
  ///    num_attention_heads (diffusers' head *count*; a per-level list with a constant width
  ///    becomes num_head_channels), cross_attention_dim, use_linear_projection,
  ///    transformer_layers_per_block, norm_num_groups, addition_embed_type "text_time" with
  ///    projection_class_embeddings_input_dim (SDXL).
  /// Setting num_heads clears num_head_channels and vice versa. Throws std::invalid_argument
  /// naming the field for wrong types/values and for unsupported variants (class-conditional
  /// num_classes, use_spatial_transformer false).
  static UNetConfig from_json(const nlohmann::json& json, const UNetConfig& base);
  /// from_json over the SD 1.5 defaults.
  static UNetConfig from_json(const nlohmann::json& json);
  /// The config in CompVis names, readable by from_json.
  nlohmann::json to_json() const;

  /// Checks internal consistency (positive sizes, widths divisible by the norm groups and the
  /// heads); throws std::invalid_argument naming the field.
  void validate() const;
  /// Number of levels (= channel_mult.size()).
  std::int64_t levels() const { return static_cast<std::int64_t>(channel_mult.size()); }
  /// Whether level `level` (ds = 2^level) has SpatialTransformers.
  bool has_attention(std::int64_t level) const;
  /// Heads of a SpatialTransformer over `channels` channels.
  std::int64_t heads_for(std::int64_t channels) const;
  /// BasicTransformerBlocks of the SpatialTransformers at `level` (0 without attention).
  std::int64_t depth_at(std::int64_t level) const;
  /// BasicTransformerBlocks of the middle block's SpatialTransformer.
  std::int64_t depth_middle() const;

  bool operator==(const UNetConfig&) const = default;
};

/// `from_json(overrides, detected)`: a config file's fields (those it names) over a detected config.
UNetConfig merge_unet_config(const UNetConfig& detected, const nlohmann::json& overrides);

/// Derives the configuration from checkpoint shapes (keys without "model.diffusion_model."):
/// in/out/model channels, channel_mult, num_res_blocks, attention levels, transformer depths per
/// level and in the middle, context_dim, conv vs linear projections and label_emb's width. Heads cannot be seen in shapes; the heuristic
/// is the released models' convention: conv projections (SD1.x, context 768) → 8 heads per
/// level, linear projections (SD2.x, context 1024) → 64-channel heads. A config that says
/// otherwise (the tiny fixtures) is merged over the result with merge_unet_config. Throws
/// std::invalid_argument naming the missing/odd key when the shapes are not an SD U-Net.
UNetConfig detect_unet_config(const ShapeMap& shapes);

}  // namespace diffgraph::models
