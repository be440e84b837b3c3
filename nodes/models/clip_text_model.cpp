// clip_text_model.cpp — CLIP text transformer (see clip_text_model.hpp).
#include "clip_text_model.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "attention.hpp"
#include "config_json.hpp"

namespace diffgraph::models {

// --- configuration ------------------------------------------------------------------------

namespace {

ClipNaming parse_naming(const std::string& text) {
  std::string lower;
  for (char ch : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  // The fixture configs describe the layout in words ("Hugging Face CLIPTextModel").
  if (lower.find("openclip") != std::string::npos || lower.find("open_clip") != std::string::npos) {
    return ClipNaming::OpenClip;
  }
  if (lower.find("hugging") != std::string::npos || lower == "hf") return ClipNaming::HuggingFace;
  throw std::invalid_argument("text encoder config: unknown naming '" + text +
                              "' (expected \"huggingface\" or \"openclip\")");
}

ClipActivation parse_activation(const std::string& text) {
  if (text == "quick_gelu") return ClipActivation::QuickGelu;
  if (text == "gelu") return ClipActivation::Gelu;
  throw std::invalid_argument("text encoder config: hidden_act '" + text +
                              "' is not supported (quick_gelu or gelu)");
}

}  // namespace

ClipTextConfig ClipTextConfig::from_json(const nlohmann::json& json, ClipTextConfig config) {
  using namespace config_json;
  const char* what = "text encoder config";
  if (!json.is_object()) throw std::invalid_argument(std::string(what) + ": expected a JSON object");
  read_positive(json, what, {"vocab_size"}, config.vocab_size);
  read_positive(json, what, {"max_position_embeddings", "context_length"}, config.max_positions);
  read_positive(json, what, {"hidden_size", "width"}, config.width);
  read_positive(json, what, {"num_attention_heads", "heads"}, config.heads);
  read_positive(json, what, {"num_hidden_layers", "layers"}, config.layers);
  read_positive(json, what, {"intermediate_size", "mlp_width"}, config.mlp_width);
  if (!json.contains("intermediate_size") && !json.contains("mlp_width") && json.contains("mlp_ratio")) {
    double ratio = 0;
    read_number(json, what, {"mlp_ratio"}, ratio);
    config.mlp_width = static_cast<std::int64_t>(std::llround(ratio * static_cast<double>(config.width)));
  } else if (!json.contains("intermediate_size") && !json.contains("mlp_width") && json.contains("width") &&
             !json.contains("hidden_size")) {
    config.mlp_width = 4 * config.width;  // an open_clip text config: mlp_ratio defaults to 4
  }
  if (json.contains("hidden_act")) config.activation = parse_activation(read_string(json, what, "hidden_act"));
  bool quick_gelu = false;
  if (read_bool(json, what, {"quick_gelu"}, quick_gelu)) {  // OpenCLIP model configs
    config.activation = quick_gelu ? ClipActivation::QuickGelu : ClipActivation::Gelu;
  }
  read_number(json, what, {"layer_norm_eps"}, config.layer_norm_eps);
  if (json.contains("naming")) config.naming = parse_naming(read_string(json, what, "naming"));
  // Hugging Face configs carry projection_dim even for CLIPTextModel, whose projection (if any)
  // lives outside `text_model.`: only OpenCLIP's in-tower text_projection takes it.
  if (config.naming == ClipNaming::OpenClip) {
    read_non_negative(json, what, {"projection_dim", "embed_dim"}, config.projection_dim);
  }
  if (config.heads <= 0 || config.width % config.heads != 0) {
    throw std::invalid_argument(std::string(what) + ": width " + std::to_string(config.width) +
                                " is not divisible by " + std::to_string(config.heads) + " heads");
  }
  return config;
}

ClipTextConfig ClipTextConfig::from_json(const nlohmann::json& json) { return from_json(json, ClipTextConfig{}); }

nlohmann::json ClipTextConfig::to_json() const {
  return {
      {"vocab_size", vocab_size},
      {"max_position_embeddings", max_positions},
      {"hidden_size", width},
      {"num_attention_heads", heads},
      {"num_hidden_layers", layers},
      {"intermediate_size", mlp_width},
      {"hidden_act", activation == ClipActivation::QuickGelu ? "quick_gelu" : "gelu"},
      {"layer_norm_eps", layer_norm_eps},
      {"naming", naming == ClipNaming::HuggingFace ? "huggingface" : "openclip"},
      {"projection_dim", projection_dim},
  };
}

namespace {

const std::vector<std::int64_t>& shape_of(const ShapeMap& shapes, const std::string& key,
                                          std::size_t rank) {
  const auto found = shapes.find(key);
  if (found == shapes.end()) throw std::invalid_argument("CLIP text encoder: tensor '" + key + "' is missing");
  if (found->second.size() != rank) {
    throw std::invalid_argument("CLIP text encoder: tensor '" + key + "' has rank " +
                                std::to_string(found->second.size()) + ", expected " + std::to_string(rank));
  }
  return found->second;
}


}  // namespace

ClipTextConfig detect_clip_text_config(const ShapeMap& shapes) {
  ClipTextConfig config;
  std::string token_key, position_key, fc1_key, layer_stem;
  if (shapes.count("embeddings.token_embedding.weight")) {
    config.naming = ClipNaming::HuggingFace;
    config.activation = ClipActivation::QuickGelu;
    token_key = "embeddings.token_embedding.weight";
    position_key = "embeddings.position_embedding.weight";
    fc1_key = "encoder.layers.0.mlp.fc1.weight";
    layer_stem = "encoder.layers.";
  } else if (shapes.count("token_embedding.weight") && shapes.count("positional_embedding")) {
    config.naming = ClipNaming::OpenClip;
    config.activation = ClipActivation::Gelu;
    token_key = "token_embedding.weight";
    position_key = "positional_embedding";
    fc1_key = "transformer.resblocks.0.mlp.c_fc.weight";
    layer_stem = "transformer.resblocks.";
  } else {
    throw std::invalid_argument(
        "not a CLIP text encoder: neither 'embeddings.token_embedding.weight' (Hugging Face names) "
        "nor 'token_embedding.weight' + 'positional_embedding' (OpenCLIP names) is present");
  }
  const auto& token = shape_of(shapes, token_key, 2);
  config.vocab_size = token[0];
  config.width = token[1];
  config.max_positions = shape_of(shapes, position_key, 2)[0];
  config.mlp_width = shape_of(shapes, fc1_key, 2)[0];
  config.layers = count_numbered(shapes, layer_stem);
  // Every released CLIP uses 64-wide heads; narrower test models get one head unless a config
  // says otherwise.
  config.heads = (config.width % 64 == 0 && config.width >= 64) ? config.width / 64 : 1;
  if (config.naming == ClipNaming::OpenClip && shapes.count("text_projection")) {
    const auto& projection = shape_of(shapes, "text_projection", 2);
    if (projection[0] != config.width) {
      throw std::invalid_argument("CLIP text encoder: text_projection has " + std::to_string(projection[0]) +
                                  " rows, the width is " + std::to_string(config.width));
    }
    config.projection_dim = projection[1];
  }
  return config;
}

WeightSource openclip_source(const std::string& parameter, std::int64_t width) {
  auto fail = [&] { throw std::invalid_argument("no OpenCLIP key for text encoder parameter '" + parameter + "'"); };
  if (parameter == "embeddings.token_embedding.weight") return {"token_embedding.weight"};
  if (parameter == "embeddings.position_embedding.weight") return {"positional_embedding"};
  if (parameter == "text_projection") return {"text_projection"};
  if (parameter.starts_with("final_layer_norm.")) return {"ln_final." + parameter.substr(17)};
  const std::string stem = "encoder.layers.";
  if (!parameter.starts_with(stem)) fail();
  const std::size_t dot = parameter.find('.', stem.size());
  if (dot == std::string::npos) fail();
  const std::string block = "transformer.resblocks." + parameter.substr(stem.size(), dot - stem.size()) + ".";
  const std::string rest = parameter.substr(dot + 1);
  // q, k and v are consecutive row blocks of nn.MultiheadAttention's fused projection.
  const std::pair<const char*, std::int64_t> qkv[] = {{"self_attn.q_proj.", 0}, {"self_attn.k_proj.", 1},
                                                      {"self_attn.v_proj.", 2}};
  for (const auto& [name, index] : qkv) {
    if (rest.starts_with(name)) {
      const std::string leaf = rest.substr(std::string(name).size());  // weight | bias
      return {block + "attn.in_proj_" + leaf, index * width, width};
    }
  }
  const std::pair<const char*, const char*> renames[] = {{"self_attn.out_proj.", "attn.out_proj."},
                                                         {"layer_norm1.", "ln_1."},
                                                         {"layer_norm2.", "ln_2."},
                                                         {"mlp.fc1.", "mlp.c_fc."},
                                                         {"mlp.fc2.", "mlp.c_proj."}};
  for (const auto& [from, to] : renames) {
    if (rest.starts_with(from)) return {block + to + rest.substr(std::string(from).size())};
  }
  fail();
  return {};
}

LoadWeightsOptions clip_text_weight_options(const ClipTextConfig& config) {
  LoadWeightsOptions options;
  // position_ids is HF's arange buffer (sometimes stored corrupted as float); logit_scale belongs
  // to the contrastive head, not the text tower.
  options.ignore_key = [](std::string_view key) {
    return key == "embeddings.position_ids" || key == "logit_scale";
  };
  if (config.naming == ClipNaming::OpenClip) {
    const std::int64_t width = config.width;
    options.source_for = [width](const std::string& parameter) { return openclip_source(parameter, width); };
  }
  return options;
}

// --- modules ------------------------------------------------------------------------------

ClipAttentionImpl::ClipAttentionImpl(const ClipTextConfig& config, const torch::TensorOptions& options)
    : heads(config.heads) {
  q_proj = register_module("q_proj", Linear(config.width, config.width, true, options));
  k_proj = register_module("k_proj", Linear(config.width, config.width, true, options));
  v_proj = register_module("v_proj", Linear(config.width, config.width, true, options));
  out_proj = register_module("out_proj", Linear(config.width, config.width, true, options));
}

torch::Tensor ClipAttentionImpl::forward(const torch::Tensor& x) {
  const auto batch = x.size(0), tokens = x.size(1), width = x.size(2);
  const auto head_dim = width / heads;
  auto split = [&](const torch::Tensor& t) { return t.view({batch, tokens, heads, head_dim}).transpose(1, 2); };
  const torch::Tensor out = attention(split(q_proj(x)), split(k_proj(x)), split(v_proj(x)),
                                      1.0 / std::sqrt(static_cast<double>(head_dim)), /*causal=*/true);
  return out_proj(out.transpose(1, 2).reshape({batch, tokens, width}));
}

ClipMlpImpl::ClipMlpImpl(const ClipTextConfig& config, const torch::TensorOptions& options)
    : activation(config.activation) {
  fc1 = register_module("fc1", Linear(config.width, config.mlp_width, true, options));
  fc2 = register_module("fc2", Linear(config.mlp_width, config.width, true, options));
}

torch::Tensor ClipMlpImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = fc1(x);
  h = activation == ClipActivation::QuickGelu ? h * torch::sigmoid(1.702 * h) : torch::gelu(h);
  return fc2(h);
}

ClipEncoderLayerImpl::ClipEncoderLayerImpl(const ClipTextConfig& config, const torch::TensorOptions& options) {
  self_attn = register_module("self_attn", ClipAttention(config, options));
  layer_norm1 = register_module("layer_norm1", LayerNorm(config.width, config.layer_norm_eps, options));
  mlp = register_module("mlp", ClipMlp(config, options));
  layer_norm2 = register_module("layer_norm2", LayerNorm(config.width, config.layer_norm_eps, options));
}

torch::Tensor ClipEncoderLayerImpl::forward(torch::Tensor x) {
  x = x + self_attn(layer_norm1(x));
  return x + mlp(layer_norm2(x));
}

ClipEmbeddingsImpl::ClipEmbeddingsImpl(const ClipTextConfig& config, const torch::TensorOptions& options) {
  token_embedding = register_module("token_embedding", Embedding(config.vocab_size, config.width, options));
  position_embedding = register_module("position_embedding", Embedding(config.max_positions, config.width, options));
}

torch::Tensor ClipEmbeddingsImpl::forward(const torch::Tensor& input_ids) {
  // Positions are always 0..N-1: the checkpoint's position_ids buffer is not trusted.
  return token_embedding(input_ids) + position_embedding->weight.narrow(0, 0, input_ids.size(1));
}

ClipEncoderImpl::ClipEncoderImpl(const ClipTextConfig& config, const torch::TensorOptions& options) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < config.layers; ++i) layers->push_back(ClipEncoderLayer(config, options));
}

ClipTextModelImpl::ClipTextModelImpl(const ClipTextConfig& config_, const torch::TensorOptions& options)
    : config(config_) {
  if (config.layers < 1 || config.heads < 1 || config.width % config.heads != 0) {
    throw std::invalid_argument("CLIP text encoder: invalid config (" + std::to_string(config.layers) + " layers, width " +
                                std::to_string(config.width) + ", " + std::to_string(config.heads) + " heads)");
  }
  embeddings = register_module("embeddings", ClipEmbeddings(config, options));
  encoder = register_module("encoder", ClipEncoder(config, options));
  final_layer_norm = register_module("final_layer_norm", LayerNorm(config.width, config.layer_norm_eps, options));
  if (config.projection_dim > 0) {
    text_projection = register_parameter("text_projection", torch::empty({config.width, config.projection_dim}, options),
                                         /*requires_grad=*/false);
  }
}

ClipTextOutput ClipTextModelImpl::forward(const torch::Tensor& input_ids, std::int64_t clip_skip,
                                          bool keep_hidden_states) {
  if (input_ids.dim() != 2 || input_ids.size(1) < 1 || input_ids.size(1) > config.max_positions) {
    throw std::invalid_argument("CLIP text encoder: input_ids must be [B,N] with 1 ≤ N ≤ " +
                                std::to_string(config.max_positions) + ", got " + c10::str(input_ids.sizes()) +
                                " (use encode_long for longer prompts)");
  }
  if (clip_skip < 1 || clip_skip > config.layers) {
    throw std::invalid_argument("CLIP text encoder: clip_skip " + std::to_string(clip_skip) + " is outside [1, " +
                                std::to_string(config.layers) + "]");
  }
  const torch::Tensor ids = input_ids.to(embeddings->token_embedding->weight.device(), torch::kLong);
  ClipTextOutput out;
  torch::Tensor x = embeddings(ids);
  if (keep_hidden_states) out.hidden_states.push_back(x);
  const std::int64_t hidden_layer = config.layers - clip_skip;  // 0-based index of the chosen layer
  for (std::int64_t i = 0; i < config.layers; ++i) {
    x = encoder->layers->ptr<ClipEncoderLayerImpl>(i)->forward(x);
    if (keep_hidden_states) out.hidden_states.push_back(x);
    if (i == hidden_layer && clip_skip > 1) out.hidden = final_layer_norm(x);
  }
  out.last_hidden_state = final_layer_norm(x);
  if (clip_skip == 1) out.hidden = out.last_hidden_state;
  // The first EOS: 49407 is the largest id and argmax returns the first maximum.
  const torch::Tensor eos = ids.argmax(-1);
  out.pooled = out.last_hidden_state.index({torch::arange(ids.size(0), ids.options()), eos});
  if (text_projection.defined()) out.pooled_projected = torch::matmul(out.pooled, text_projection);
  return out;
}

ClipTextOutput ClipTextModelImpl::encode_long(const torch::Tensor& input_ids, std::int64_t clip_skip) {
  const std::int64_t window = config.max_positions;
  if (input_ids.dim() != 2 || input_ids.size(1) == 0 || input_ids.size(1) % window != 0) {
    throw std::invalid_argument("CLIP text encoder: encode_long needs input_ids [B, k·" + std::to_string(window) +
                                "], got " + c10::str(input_ids.sizes()));
  }
  ClipTextOutput out;
  std::vector<torch::Tensor> last, hidden;
  for (std::int64_t begin = 0; begin < input_ids.size(1); begin += window) {
    ClipTextOutput part = forward(input_ids.narrow(1, begin, window), clip_skip);
    if (begin == 0) {
      out.pooled = part.pooled;
      out.pooled_projected = part.pooled_projected;
    }
    last.push_back(part.last_hidden_state);
    hidden.push_back(part.hidden);
  }
  out.last_hidden_state = torch::cat(last, 1);
  out.hidden = torch::cat(hidden, 1);
  return out;
}

}  // namespace diffgraph::models
