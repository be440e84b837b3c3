// clip_text_model.hpp — the CLIP text encoder that turns prompt token ids into the U-Net's
// conditioning (SD1: OpenAI ViT-L/14 in Hugging Face names; SD2: OpenCLIP ViT-H/14 in
// openai-style names, loaded into the same module through a key mapping).
//
// The module tree mirrors Hugging Face's CLIPTextModel `text_model.*` keys
// (embeddings.token_embedding, encoder.layers.N.self_attn.q_proj, …, final_layer_norm), so an
// SD1 checkpoint loads by lookup under `cond_stage_model.transformer.text_model.`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "layers.hpp"
#include "weights.hpp"

namespace diffgraph::models {

/// The MLP nonlinearity: OpenAI's CLIP (SD1) uses quick_gelu, OpenCLIP ViT-H (SD2) exact GELU.
enum class ClipActivation { QuickGelu, Gelu };

/// How the checkpoint names the text encoder's tensors.
enum class ClipNaming {
  HuggingFace,  ///< embeddings.token_embedding.weight, encoder.layers.N.self_attn.q_proj.weight, …
  OpenClip,     ///< token_embedding.weight, transformer.resblocks.N.attn.in_proj_weight (fused q,k,v), …
};

/// Hyper-parameters of a CLIP text transformer.
struct ClipTextConfig {
  std::int64_t vocab_size = 49408;
  std::int64_t max_positions = 77;  ///< context length; also the window of encode_long
  std::int64_t width = 768;         ///< hidden size
  /// Attention heads. Shapes cannot reveal this: detection assumes 64-wide heads (true of every
  /// released CLIP), a config (config.json, checkpoint metadata) says otherwise.
  std::int64_t heads = 12;
  std::int64_t layers = 12;
  std::int64_t mlp_width = 3072;  ///< intermediate size of fc1
  ClipActivation activation = ClipActivation::QuickGelu;
  double layer_norm_eps = 1e-5;
  ClipNaming naming = ClipNaming::HuggingFace;
  /// Output width of `text_projection` (OpenCLIP stores it as a [width, projection_dim] matrix
  /// applied as x·P); 0 when the checkpoint has none.
  std::int64_t projection_dim = 0;

  /// Overrides the fields `json` names, starting from `base`. Reads Hugging Face/diffusers
  /// config.json names (hidden_size, num_attention_heads, num_hidden_layers, intermediate_size,
  /// hidden_act, layer_norm_eps, max_position_embeddings, vocab_size, projection_dim), which the
  /// fixture configs share, and OpenCLIP's text_cfg names (width, heads, layers, context_length).
  /// Throws std::invalid_argument naming the field for a value of the wrong type or range.
  static ClipTextConfig from_json(const nlohmann::json& json, ClipTextConfig base);
  /// from_json over the defaults.
  static ClipTextConfig from_json(const nlohmann::json& json);
  /// The config in Hugging Face names (plus "naming"), readable by from_json.
  nlohmann::json to_json() const;

  bool operator==(const ClipTextConfig&) const = default;
};

/// Detects the configuration from tensor shapes (prefix removed): naming from the key layout,
/// sizes from the embedding and MLP shapes, layers from the highest layer index, heads = width/64,
/// activation quick_gelu for Hugging Face names and gelu for OpenCLIP names (the SD1/SD2
/// pairing; a config.json overrides it). Throws std::invalid_argument when the keys are not a
/// CLIP text encoder.
ClipTextConfig detect_clip_text_config(const ShapeMap& shapes);

/// How load_weights finds the module's parameters for `config`'s naming (OpenCLIP: renamed
/// keys and rows of the fused in_proj), and which stored keys inference does not need
/// (`embeddings.position_ids`, `logit_scale`).
LoadWeightsOptions clip_text_weight_options(const ClipTextConfig& config);

/// The OpenCLIP key (prefix removed) holding Hugging Face-named parameter `parameter`, with
/// the row block for q/k/v. Throws std::invalid_argument for a name outside the text model.
WeightSource openclip_source(const std::string& parameter, std::int64_t width);

/// Multi-head self-attention with a causal mask (HF CLIPAttention).
class ClipAttentionImpl : public torch::nn::Module {
 public:
  ClipAttentionImpl(const ClipTextConfig& config, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

  Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
  std::int64_t heads;
};
TORCH_MODULE(ClipAttention);

/// fc1 → activation → fc2.
class ClipMlpImpl : public torch::nn::Module {
 public:
  ClipMlpImpl(const ClipTextConfig& config, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

  Linear fc1{nullptr}, fc2{nullptr};
  ClipActivation activation;
};
TORCH_MODULE(ClipMlp);

/// Pre-norm transformer layer: x += attn(LN1(x)); x += mlp(LN2(x)).
class ClipEncoderLayerImpl : public torch::nn::Module {
 public:
  ClipEncoderLayerImpl(const ClipTextConfig& config, const torch::TensorOptions& options);
  torch::Tensor forward(torch::Tensor x);

  ClipAttention self_attn{nullptr};
  LayerNorm layer_norm1{nullptr};
  ClipMlp mlp{nullptr};
  LayerNorm layer_norm2{nullptr};
};
TORCH_MODULE(ClipEncoderLayer);

/// Token and (learned, absolute) position embeddings.
class ClipEmbeddingsImpl : public torch::nn::Module {
 public:
  ClipEmbeddingsImpl(const ClipTextConfig& config, const torch::TensorOptions& options);
  /// tok_emb[ids] + pos_emb[0:N] for ids [B,N].
  torch::Tensor forward(const torch::Tensor& input_ids);

  Embedding token_embedding{nullptr}, position_embedding{nullptr};
};
TORCH_MODULE(ClipEmbeddings);

/// The stack of layers, `encoder.layers.N`.
class ClipEncoderImpl : public torch::nn::Module {
 public:
  ClipEncoderImpl(const ClipTextConfig& config, const torch::TensorOptions& options);
  torch::nn::ModuleList layers{nullptr};
};
TORCH_MODULE(ClipEncoder);

/// What one text-encoder pass yields.
struct ClipTextOutput {
  /// final_layer_norm(output of the last layer), [B,N,W].
  torch::Tensor last_hidden_state;
  /// final_layer_norm(output of layer L−clip_skip): equals last_hidden_state for clip_skip 1;
  /// clip_skip 2 is "penultimate" (SD2's conditioning, A1111/ComfyUI "clip skip 2").
  torch::Tensor hidden;
  /// last_hidden_state at the first position holding the largest id (the first EOS), [B,W].
  torch::Tensor pooled;
  /// pooled·text_projection when the model has one, [B,P]; undefined otherwise.
  torch::Tensor pooled_projected;
  /// When requested: [0] = embeddings, [i] = output of layer i−1, without the final LayerNorm.
  std::vector<torch::Tensor> hidden_states;
};

/// The CLIP text transformer.
class ClipTextModelImpl : public torch::nn::Module {
 public:
  ClipTextModelImpl(const ClipTextConfig& config, const torch::TensorOptions& options);

  /// Encodes input_ids [B,N] (int64, N ≤ max_positions) with a causal mask. `clip_skip` ≥ 1
  /// selects `hidden` (1 = last layer). Throws std::invalid_argument for a bad shape or skip.
  ClipTextOutput forward(const torch::Tensor& input_ids, std::int64_t clip_skip = 1,
                         bool keep_hidden_states = false);

  /// Encodes a long prompt given as consecutive windows: input_ids [B, k·max_positions], each
  /// window already tokenized as its own BOS…EOS/pad sequence. Each window is encoded on its
  /// own and `last_hidden_state`/`hidden` are concatenated along the token axis ([B,k·N,W], the
  /// U-Net's cross attention accepts any context length); `pooled` comes from the first window.
  ClipTextOutput encode_long(const torch::Tensor& input_ids, std::int64_t clip_skip = 1);

  ClipTextConfig config;
  ClipEmbeddings embeddings{nullptr};
  ClipEncoder encoder{nullptr};
  LayerNorm final_layer_norm{nullptr};
  torch::Tensor text_projection;  ///< [W,P], registered only when projection_dim > 0
};
TORCH_MODULE(ClipTextModel);

}  // namespace diffgraph::models
