#include "unet.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>

#include <torch/torch.h>

#include "attention.hpp"
#include "onednn_ops.hpp"

namespace diffgraph::models {

namespace {

// ---- config parsing ------------------------------------------------------------------------

[[noreturn]] void config_error(const std::string& field, const std::string& what) {
  throw std::invalid_argument("U-Net config: field '" + field + "' " + what);
}

bool present(const nlohmann::json& json, const char* key) { return json.contains(key) && !json.at(key).is_null(); }

std::int64_t as_int(const nlohmann::json& value, const std::string& field) {
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::floor(d) == d && std::abs(d) < 9.0e15) return static_cast<std::int64_t>(d);
  }
  config_error(field, "must be an integer, got " + value.dump());
}

std::vector<std::int64_t> as_int_list(const nlohmann::json& value, const std::string& field) {
  if (!value.is_array()) config_error(field, "must be a list of integers, got " + value.dump());
  std::vector<std::int64_t> out;
  for (const auto& item : value) out.push_back(as_int(item, field));
  return out;
}

bool as_bool(const nlohmann::json& value, const std::string& field) {
  if (!value.is_boolean()) config_error(field, "must be true or false, got " + value.dump());
  return value.get<bool>();
}

// An integer, or a per-level list that this architecture needs to be uniform.
std::int64_t uniform_int(const nlohmann::json& value, const std::string& field) {
  if (!value.is_array()) return as_int(value, field);
  const auto list = as_int_list(value, field);
  if (list.empty() || std::adjacent_find(list.begin(), list.end(), std::not_equal_to<>()) != list.end())
    config_error(field, "varies per level (" + value.dump() + "); only uniform values are supported");
  return list.front();
}

// CompVis configs list the attention factors as [4, 2, 1]; keep that order so a parsed, a
// detected and a written config compare equal.
void normalise_attention_resolutions(std::vector<std::int64_t>& ds) {
  std::sort(ds.begin(), ds.end(), std::greater<>());
  ds.erase(std::unique(ds.begin(), ds.end()), ds.end());
}

// ---- module-tree helpers -------------------------------------------------------------------

// Training (tools/train) runs forward() with grad mode on; autograd cannot differentiate some
// of the in-place and out= shortcuts below (they overwrite what the backward pass needs), so
// with grad mode on they give way to the equivalent out-of-place ops.
bool autograd_on() { return at::GradMode::is_enabled(); }

// SiLU in place on a tensor the caller just created (out of place under autograd).
torch::Tensor silu_inplace(torch::Tensor t) {
  if (autograd_on()) return torch::silu(t);
  at::silu_(t);
  return t;
}

// Whether this thread's current forward() may use packed weights: only for latents of at most
// kPackedStepMaxLatentPixels, where the low-resolution levels (whose weight reorders packing
// saves) dominate the step. Measured on 2 cores, SD 1.5, batch 2: a 32×32-latent step 1.2–1.4×
// faster with packing, for +2.7 GiB; at 64×64 it would save ~10 % for +1.3 GiB (the 8×8 level's
// convolutions), which would break the weights + 2 GiB memory budget of a 512² picture.
constexpr std::int64_t kPackedStepMaxLatentPixels = 32 * 32;
thread_local bool t_packing_allowed = false;

OneDnnWeightCache* packing(OneDnnWeightCache& cache) { return t_packing_allowed ? &cache : nullptr; }

// The layers' own forward() would call torch::linear / torch::conv2d; the U-Net sends its GEMMs
// and convolutions through onednn_ops instead, to keep CPU work on one thread pool.
torch::Tensor run(const Conv2d& conv, OneDnnWeightCache& packed, const torch::Tensor& x) {
  return onednn_conv2d(x, conv->weight, conv->bias, conv->stride, conv->padding, packing(packed));
}

torch::Tensor run(const Linear& linear, OneDnnWeightCache& packed, const torch::Tensor& x) {
  return onednn_linear(x, linear->weight, linear->bias, packing(packed));
}

// A named, parameter-less node of the module tree ("in_layers", "ff.net", "out"), so that a
// parameter's path is its checkpoint key without a Sequential's forward in the way.
std::shared_ptr<torch::nn::Module> node(torch::nn::Module& parent, const std::string& name) {
  return parent.register_module(name, std::make_shared<torch::nn::Module>());
}

}  // namespace

// ---- UNetConfig ----------------------------------------------------------------------------

UNetConfig UNetConfig::from_json(const nlohmann::json& json) { return from_json(json, UNetConfig{}); }

UNetConfig UNetConfig::from_json(const nlohmann::json& json_in, const UNetConfig& base) {
  UNetConfig c = base;
  if (!json_in.is_object()) throw std::invalid_argument("U-Net config: expected a JSON object, got " + json_in.dump());
  // An LDM yaml `unet_config: {target, params}` converted to JSON.
  const nlohmann::json& json =
      json_in.contains("params") && json_in.at("params").is_object() ? json_in.at("params") : json_in;
  for (const char* unsupported : {"num_classes", "num_class_embeds", "class_embed_type", "addition_embed_type",
                                  "disable_self_attentions", "num_attention_blocks", "adm_in_channels"}) {
    if (present(json, unsupported))
      config_error(unsupported, "is set (" + json.at(unsupported).dump() +
                                    "): only SD1/SD2-style text-conditioned U-Nets are supported");
  }
  if (present(json, "use_spatial_transformer") &&
      !as_bool(json.at("use_spatial_transformer"), "use_spatial_transformer"))
    config_error("use_spatial_transformer", "is false: U-Nets without cross-attention are not supported");

  if (present(json, "in_channels")) c.in_channels = as_int(json.at("in_channels"), "in_channels");
  if (present(json, "out_channels")) c.out_channels = as_int(json.at("out_channels"), "out_channels");

  // CompVis / Stability-AI names.
  if (present(json, "model_channels")) c.model_channels = as_int(json.at("model_channels"), "model_channels");
  if (present(json, "channel_mult")) c.channel_mult = as_int_list(json.at("channel_mult"), "channel_mult");
  if (present(json, "num_res_blocks")) c.num_res_blocks = uniform_int(json.at("num_res_blocks"), "num_res_blocks");
  if (present(json, "attention_resolutions"))
    c.attention_resolutions = as_int_list(json.at("attention_resolutions"), "attention_resolutions");
  if (present(json, "transformer_depth"))
    c.transformer_depth = uniform_int(json.at("transformer_depth"), "transformer_depth");
  if (present(json, "context_dim")) c.context_dim = uniform_int(json.at("context_dim"), "context_dim");
  if (present(json, "use_linear_in_transformer"))
    c.use_linear_in_transformer = as_bool(json.at("use_linear_in_transformer"), "use_linear_in_transformer");
  // CompVis semantics: a num_head_channels other than -1 wins over num_heads.
  const std::int64_t heads = present(json, "num_heads") ? as_int(json.at("num_heads"), "num_heads") : -1;
  const std::int64_t head_channels =
      present(json, "num_head_channels") ? as_int(json.at("num_head_channels"), "num_head_channels") : -1;
  if (head_channels != -1) {
    c.num_head_channels = head_channels;
    c.num_heads = -1;
  } else if (heads != -1) {
    c.num_heads = heads;
    c.num_head_channels = -1;
  }

  // diffusers UNet2DConditionModel names.
  if (present(json, "block_out_channels")) {
    const auto widths = as_int_list(json.at("block_out_channels"), "block_out_channels");
    if (widths.empty() || widths.front() <= 0) config_error("block_out_channels", "must list positive widths");
    c.model_channels = widths.front();
    c.channel_mult.clear();
    for (auto w : widths) {
      if (w % widths.front() != 0)
        config_error("block_out_channels",
                     "must be multiples of the first width, got " + json.at("block_out_channels").dump());
      c.channel_mult.push_back(w / widths.front());
    }
  }
  if (present(json, "layers_per_block"))
    c.num_res_blocks = uniform_int(json.at("layers_per_block"), "layers_per_block");
  if (present(json, "down_block_types")) {
    const auto& types = json.at("down_block_types");
    if (!types.is_array()) config_error("down_block_types", "must be a list of block names");
    c.attention_resolutions.clear();
    for (std::size_t level = 0; level < types.size(); ++level) {
      if (!types[level].is_string()) config_error("down_block_types", "must be a list of block names");
      if (types[level].get<std::string>().starts_with("CrossAttn"))
        c.attention_resolutions.push_back(std::int64_t{1} << level);
    }
  }
  if (present(json, "cross_attention_dim"))
    c.context_dim = uniform_int(json.at("cross_attention_dim"), "cross_attention_dim");
  if (present(json, "use_linear_projection"))
    c.use_linear_in_transformer = as_bool(json.at("use_linear_projection"), "use_linear_projection");
  if (present(json, "transformer_layers_per_block"))
    c.transformer_depth = uniform_int(json.at("transformer_layers_per_block"), "transformer_layers_per_block");
  if (present(json, "norm_num_groups")) c.norm_groups = as_int(json.at("norm_num_groups"), "norm_num_groups");
  // diffusers' `attention_head_dim` is, for SD1/SD2 configs, the head *count* (a historical
  // misnomer that `num_attention_heads` later fixed). SD2 lists it per level ([5,10,20,20]),
  // which is a constant head width of 64.
  const char* heads_field = present(json, "num_attention_heads")  ? "num_attention_heads"
                            : present(json, "attention_head_dim") ? "attention_head_dim"
                                                                  : nullptr;
  if (heads_field) {
    const auto& value = json.at(heads_field);
    if (!value.is_array()) {
      c.num_heads = as_int(value, heads_field);
      c.num_head_channels = -1;
    } else {
      const auto counts = as_int_list(value, heads_field);
      if (counts.size() != c.channel_mult.size())
        config_error(heads_field, "lists " + std::to_string(counts.size()) + " levels, the model has " +
                                      std::to_string(c.channel_mult.size()));
      std::set<std::int64_t> distinct_counts(counts.begin(), counts.end()), widths;
      for (std::size_t level = 0; level < counts.size(); ++level) {
        const std::int64_t channels = c.model_channels * c.channel_mult[level];
        if (counts[level] <= 0 || channels % counts[level] != 0)
          config_error(heads_field, "does not divide the level widths: " + value.dump());
        widths.insert(channels / counts[level]);
      }
      if (distinct_counts.size() == 1) {
        c.num_heads = counts.front();
        c.num_head_channels = -1;
      } else if (widths.size() == 1) {
        c.num_head_channels = *widths.begin();
        c.num_heads = -1;
      } else {
        config_error(heads_field, "gives neither a constant head count nor a constant head width: " + value.dump());
      }
    }
  }
  normalise_attention_resolutions(c.attention_resolutions);
  return c;
}

nlohmann::json UNetConfig::to_json() const {
  return nlohmann::json{{"in_channels", in_channels},
                        {"out_channels", out_channels},
                        {"model_channels", model_channels},
                        {"channel_mult", channel_mult},
                        {"num_res_blocks", num_res_blocks},
                        {"attention_resolutions", attention_resolutions},
                        {"num_heads", num_heads},
                        {"num_head_channels", num_head_channels},
                        {"transformer_depth", transformer_depth},
                        {"context_dim", context_dim},
                        {"use_linear_in_transformer", use_linear_in_transformer},
                        {"use_spatial_transformer", true},
                        {"norm_num_groups", norm_groups}};
}

bool UNetConfig::has_attention(std::int64_t level) const {
  const std::int64_t ds = std::int64_t{1} << level;
  return std::find(attention_resolutions.begin(), attention_resolutions.end(), ds) != attention_resolutions.end();
}

std::int64_t UNetConfig::heads_for(std::int64_t channels) const {
  if (num_head_channels > 0) {
    if (channels % num_head_channels != 0)
      config_error("num_head_channels", "(" + std::to_string(num_head_channels) +
                                            ") does not divide a level width of " + std::to_string(channels));
    return channels / num_head_channels;
  }
  if (num_heads <= 0 || channels % num_heads != 0)
    config_error("num_heads",
                 "(" + std::to_string(num_heads) + ") does not divide a level width of " + std::to_string(channels));
  return num_heads;
}

void UNetConfig::validate() const {
  auto positive = [](const char* field, std::int64_t v) {
    if (v <= 0) config_error(field, "must be positive, got " + std::to_string(v));
  };
  positive("in_channels", in_channels);
  positive("out_channels", out_channels);
  positive("model_channels", model_channels);
  positive("num_res_blocks", num_res_blocks);
  positive("transformer_depth", transformer_depth);
  positive("context_dim", context_dim);
  positive("norm_num_groups", norm_groups);
  if (channel_mult.empty() || channel_mult.size() > 16) config_error("channel_mult", "must list 1 to 16 levels");
  if ((num_heads > 0) == (num_head_channels > 0))
    config_error("num_heads", "and num_head_channels: exactly one must be positive (got " + std::to_string(num_heads) +
                                  ", " + std::to_string(num_head_channels) + ")");
  for (std::size_t level = 0; level < channel_mult.size(); ++level) {
    positive("channel_mult", channel_mult[level]);
    const std::int64_t channels = model_channels * channel_mult[level];
    if (channels % norm_groups != 0)
      config_error("norm_num_groups", "(" + std::to_string(norm_groups) + ") does not divide a level width of " +
                                          std::to_string(channels));
    if (has_attention(static_cast<std::int64_t>(level))) heads_for(channels);
  }
  heads_for(model_channels * channel_mult.back());  // the middle block's transformer
  for (auto ds : attention_resolutions) {
    if (ds <= 0 || (ds & (ds - 1)) != 0 || ds >= (std::int64_t{1} << channel_mult.size()))
      config_error("attention_resolutions", "holds " + std::to_string(ds) + ", not 2^level of a level of this model");
  }
}

UNetConfig merge_unet_config(const UNetConfig& detected, const nlohmann::json& overrides) {
  return UNetConfig::from_json(overrides, detected);
}

// ---- detection -----------------------------------------------------------------------------

UNetConfig detect_unet_config(const ShapeMap& shapes) {
  auto has = [&](const std::string& key) { return shapes.count(key) != 0; };
  auto has_prefix = [&](const std::string& prefix) {
    auto it = shapes.lower_bound(prefix);
    return it != shapes.end() && it->first.starts_with(prefix);
  };
  auto shape = [&](const std::string& key, std::size_t dims) -> const std::vector<std::int64_t>& {
    auto it = shapes.find(key);
    if (it == shapes.end()) throw std::invalid_argument("U-Net detection: tensor '" + key + "' is missing");
    if (it->second.size() != dims)
      throw std::invalid_argument("U-Net detection: tensor '" + key + "' has " + std::to_string(it->second.size()) +
                                  " dimensions, expected " + std::to_string(dims));
    return it->second;
  };
  if (has_prefix("label_emb."))
    throw std::invalid_argument(
        "U-Net detection: label_emb.* present: class-conditional U-Nets (SDXL, unCLIP) are not supported");

  UNetConfig c;
  const auto& conv_in = shape("input_blocks.0.0.weight", 4);
  c.model_channels = conv_in[0];
  c.in_channels = conv_in[1];
  c.out_channels = shape("out.2.weight", 4)[0];
  c.channel_mult.clear();
  c.attention_resolutions.clear();

  // Walk input_blocks: ResBlocks (with a transformer at attention levels) until a Downsample
  // (`op`) closes the level.
  std::vector<std::int64_t> res_per_level;
  std::int64_t res_count = 0, level_channels = 0;
  bool level_attention = false;
  auto close_level = [&](std::size_t n) {
    if (res_count == 0)
      throw std::invalid_argument("U-Net detection: level " + std::to_string(res_per_level.size()) +
                                  " ends at input_blocks." + std::to_string(n) + " without a ResBlock");
    if (level_channels % c.model_channels != 0)
      throw std::invalid_argument("U-Net detection: level width " + std::to_string(level_channels) +
                                  " is not a multiple of model_channels " + std::to_string(c.model_channels));
    if (level_attention) c.attention_resolutions.push_back(std::int64_t{1} << res_per_level.size());
    c.channel_mult.push_back(level_channels / c.model_channels);
    res_per_level.push_back(res_count);
    res_count = 0;
  };
  std::size_t n = 1;
  for (; has_prefix("input_blocks." + std::to_string(n) + "."); ++n) {
    const std::string block = "input_blocks." + std::to_string(n) + ".";
    if (has(block + "0.op.weight")) {
      close_level(n);
      continue;
    }
    const std::int64_t channels = shape(block + "0.out_layers.3.weight", 4)[0];
    const bool attention = has(block + "1.proj_in.weight");
    if (res_count > 0 && (channels != level_channels || attention != level_attention))
      throw std::invalid_argument("U-Net detection: " + block +
                                  "0 differs in width or attention from the level's first ResBlock");
    level_channels = channels;
    level_attention = attention;
    ++res_count;
  }
  close_level(n);
  c.num_res_blocks = res_per_level.front();
  for (std::size_t level = 0; level < res_per_level.size(); ++level) {
    if (res_per_level[level] != c.num_res_blocks)
      throw std::invalid_argument("U-Net detection: level " + std::to_string(level) + " has " +
                                  std::to_string(res_per_level[level]) + " ResBlocks, level 0 has " +
                                  std::to_string(c.num_res_blocks) + "; only uniform counts are supported");
  }
  normalise_attention_resolutions(c.attention_resolutions);

  // The middle block's transformer is present in every SD1/SD2 U-Net.
  const std::string st = "middle_block.1.";
  if (!has(st + "proj_in.weight"))
    throw std::invalid_argument("U-Net detection: middle_block.1.proj_in.weight is missing: not an SD1/SD2 U-Net");
  c.use_linear_in_transformer = shapes.at(st + "proj_in.weight").size() == 2;
  c.transformer_depth = 0;
  while (has(st + "transformer_blocks." + std::to_string(c.transformer_depth) + ".norm1.weight")) ++c.transformer_depth;
  if (c.transformer_depth == 0)
    throw std::invalid_argument("U-Net detection: middle_block.1 has no transformer_blocks");
  c.context_dim = shape(st + "transformer_blocks.0.attn2.to_k.weight", 2)[1];

  // Heads are invisible in the shapes (q/k/v are [C,C] whatever the split). The released
  // models pair them with the projection kind: SD1.x (conv proj, context 768) uses 8 heads,
  // SD2.x (linear proj, context 1024) 64-channel heads.
  if (c.use_linear_in_transformer) {
    c.num_heads = -1;
    c.num_head_channels = 64;
  } else {
    c.num_heads = 8;
    c.num_head_channels = -1;
  }
  return c;
}

// ---- timestep embedding --------------------------------------------------------------------

torch::Tensor timestep_embedding(const torch::Tensor& t, std::int64_t dim) {
  if (t.dim() != 1)
    throw std::invalid_argument("timestep_embedding: t must be 1-D [B], got " + std::to_string(t.dim()) + "-D");
  if (dim <= 0) throw std::invalid_argument("timestep_embedding: dim must be positive");
  const std::int64_t half = dim / 2;
  // Same operations, in the same order and dtype, as the reference, so the result is bitwise equal.
  const torch::Tensor freqs =
      torch::exp(torch::arange(0, half, t.options().dtype(torch::kFloat32)) * (-std::log(10000.0)) / half);
  const torch::Tensor args = t.to(torch::kFloat32).unsqueeze(1) * freqs.unsqueeze(0);
  torch::Tensor embedding = torch::cat({torch::cos(args), torch::sin(args)}, -1);
  if (dim % 2) embedding = torch::cat({embedding, torch::zeros_like(embedding.narrow(1, 0, 1))}, -1);
  return embedding;
}

// ---- ResBlock --------------------------------------------------------------------------------

ResBlockImpl::ResBlockImpl(std::int64_t channels, std::int64_t emb_channels, std::int64_t out_channels,
                           std::int64_t groups, const torch::TensorOptions& options) {
  auto in_layers = node(*this, "in_layers");
  in_norm = in_layers->register_module("0", GroupNorm(groups, channels, 1e-5, options));
  in_conv = in_layers->register_module("2", Conv2d(channels, out_channels, 3, 1, 1, options));
  emb_linear = node(*this, "emb_layers")->register_module("1", Linear(emb_channels, out_channels, true, options));
  auto out_layers = node(*this, "out_layers");
  out_norm = out_layers->register_module("0", GroupNorm(groups, out_channels, 1e-5, options));
  out_conv = out_layers->register_module("3", Conv2d(out_channels, out_channels, 3, 1, 1, options));
  if (channels != out_channels)
    skip_connection = register_module("skip_connection", Conv2d(channels, out_channels, 1, 1, 0, options));
}

torch::Tensor ResBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& emb_silu) {
  torch::Tensor h = run(in_conv, in_conv_packed, silu_inplace(in_norm(x)));
  // Every tensor updated in place below was created in this function.
  h.add_(run(emb_linear, emb_linear_packed, emb_silu).unsqueeze(-1).unsqueeze(-1));
  h = run(out_conv, out_conv_packed, silu_inplace(out_norm(h)));
  return h.add_(skip_connection ? run(skip_connection, skip_packed, x) : x);
}

// ---- attention -----------------------------------------------------------------------------

CrossAttentionImpl::CrossAttentionImpl(std::int64_t query_dim, std::int64_t context_dim, std::int64_t heads_,
                                       std::int64_t dim_head_, const torch::TensorOptions& options)
    : heads(heads_), dim_head(dim_head_) {
  const std::int64_t inner = heads * dim_head;
  to_q = register_module("to_q", Linear(query_dim, inner, false, options));
  to_k = register_module("to_k", Linear(context_dim, inner, false, options));
  to_v = register_module("to_v", Linear(context_dim, inner, false, options));
  to_out = node(*this, "to_out")->register_module("0", Linear(inner, query_dim, true, options));
}

torch::Tensor CrossAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& context) {
  const torch::Tensor& source = context.defined() ? context : x;
  const std::int64_t batch = x.size(0), n = x.size(1), m = source.size(1);
  // [B,N,H·D] viewed as [B,H,N,D]: attention() reads the heads in place.
  auto heads_of = [&](const torch::Tensor& projected, std::int64_t tokens) {
    return projected.view({batch, tokens, heads, dim_head}).transpose(1, 2);
  };
  const torch::Tensor q = heads_of(onednn_linear(x, to_q->weight, {}, packing(to_q_packed)), n);
  const torch::Tensor k = heads_of(onednn_linear(source, to_k->weight, {}, packing(to_k_packed)), m);
  const torch::Tensor v = heads_of(onednn_linear(source, to_v->weight, {}, packing(to_v_packed)), m);
  const torch::Tensor out = attention(q, k, v, std::pow(static_cast<double>(dim_head), -0.5));
  const torch::Tensor merged = out.transpose(1, 2).reshape({batch, n, heads * dim_head});
  return onednn_linear(merged, to_out->weight, to_out->bias, packing(to_out_packed));
}

BasicTransformerBlockImpl::BasicTransformerBlockImpl(std::int64_t dim, std::int64_t heads, std::int64_t dim_head,
                                                     std::int64_t context_dim, const torch::TensorOptions& options) {
  attn1 = register_module("attn1", CrossAttention(dim, dim, heads, dim_head, options));
  auto net = node(*node(*this, "ff"), "net");
  ff_proj = node(*net, "0")->register_module("proj", Linear(dim, dim * 8, true, options));
  ff_out = net->register_module("2", Linear(dim * 4, dim, true, options));
  attn2 = register_module("attn2", CrossAttention(dim, context_dim, heads, dim_head, options));
  norm1 = register_module("norm1", LayerNorm(dim, 1e-5, options));
  norm2 = register_module("norm2", LayerNorm(dim, 1e-5, options));
  norm3 = register_module("norm3", LayerNorm(dim, 1e-5, options));
}

torch::Tensor BasicTransformerBlockImpl::forward(torch::Tensor x, const torch::Tensor& context) {
  // Each sub-layer's output is a fresh tensor, so the residual is added in place.
  x = attn1(norm1(x)).add_(x);
  x = attn2(norm2(x), context).add_(x);
  // GEGLU: value · gelu(gate) (exact erf GELU). ff.net.0.proj's rows hold the value half, then
  // the gate half; projecting each half on its own gives two dense tensors, so the elementwise
  // work runs on contiguous memory and ff.net.2 reads its input without a copy.
  const torch::Tensor normed = norm3(x);
  const std::int64_t inner = ff_proj->weight.size(0) / 2;
  torch::Tensor value =
      onednn_linear(normed, ff_proj->weight.narrow(0, 0, inner), ff_proj->bias.narrow(0, 0, inner),
                    packing(ff_value_packed));
  torch::Tensor gate = onednn_linear(normed, ff_proj->weight.narrow(0, inner, inner),
                                     ff_proj->bias.narrow(0, inner, inner), packing(ff_gate_packed));
  if (autograd_on()) {
    value = value * torch::gelu(gate);
  } else {
    at::gelu_(gate);
    value.mul_(gate);
  }
  return onednn_linear(value, ff_out->weight, ff_out->bias, packing(ff_out_packed)).add_(x);
}

SpatialTransformerImpl::SpatialTransformerImpl(std::int64_t channels, std::int64_t heads, std::int64_t depth,
                                               std::int64_t context_dim, bool linear_projection, std::int64_t groups,
                                               const torch::TensorOptions& options) {
  norm = register_module("norm", GroupNorm(groups, channels, 1e-6, options));
  if (linear_projection)
    proj_in_linear = register_module("proj_in", Linear(channels, channels, true, options));
  else
    proj_in_conv = register_module("proj_in", Conv2d(channels, channels, 1, 1, 0, options));
  auto blocks = node(*this, "transformer_blocks");
  for (std::int64_t i = 0; i < depth; ++i) {
    transformer_blocks.push_back(blocks->register_module(
        std::to_string(i), BasicTransformerBlock(channels, heads, channels / heads, context_dim, options)));
  }
  if (linear_projection)
    proj_out_linear = register_module("proj_out", Linear(channels, channels, true, options));
  else
    proj_out_conv = register_module("proj_out", Conv2d(channels, channels, 1, 1, 0, options));
}

torch::Tensor SpatialTransformerImpl::forward(const torch::Tensor& x_in, const torch::Tensor& context) {
  const torch::Tensor x = x_in.contiguous();
  const std::int64_t batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
  // A 1×1 conv on NCHW (SD1) and a Linear on [B,HW,C] tokens (SD2) are the same GEMM over
  // channels, so both variants run one code path: tokens are the channels-last layout of the
  // normalised image, and proj_out's result is that layout again.
  const torch::Tensor w_in = proj_in_linear ? proj_in_linear->weight : proj_in_conv->weight;
  const torch::Tensor b_in = proj_in_linear ? proj_in_linear->bias : proj_in_conv->bias;
  const torch::Tensor w_out = proj_out_linear ? proj_out_linear->weight : proj_out_conv->weight;
  const torch::Tensor b_out = proj_out_linear ? proj_out_linear->bias : proj_out_conv->bias;

  // [B,C,H,W] → [B,H,W,C] → [B,HW,C]: one transposing copy.
  const torch::Tensor normed = norm(x).permute({0, 2, 3, 1}).reshape({batch, height * width, channels});
  torch::Tensor tokens = onednn_linear(normed, w_in, b_in, packing(proj_in_packed));
  for (auto& block : transformer_blocks) tokens = block(tokens, context);
  tokens = onednn_linear(tokens, w_out, b_out, packing(proj_out_packed));

  // Back to NCHW, plus the residual, in one pass.
  if (autograd_on()) return x + tokens.view({batch, height, width, channels}).permute({0, 3, 1, 2});
  torch::Tensor out = torch::empty_like(x);
  at::add_out(out, x, tokens.view({batch, height, width, channels}).permute({0, 3, 1, 2}));
  return out;
}

// ---- blocks and model ----------------------------------------------------------------------

torch::Tensor UNetBlockImpl::forward(torch::Tensor h, const torch::Tensor& emb_silu, const torch::Tensor& context) {
  if (conv_in) h = run(conv_in, conv_in_packed, h);
  if (res) h = res(h, emb_silu);
  if (transformer) h = transformer(h, context);
  if (res2) h = res2(h, emb_silu);
  if (downsample) h = run(downsample, downsample_packed, h);
  if (upsample) {
    const std::vector<std::int64_t> doubled{h.size(2) * 2, h.size(3) * 2};
    h = run(upsample, upsample_packed, torch::upsample_nearest2d(h, doubled));
  }
  return h;
}

UNetModelImpl::UNetModelImpl(const UNetConfig& config, const torch::TensorOptions& options) : config_(config) {
  config_.validate();
  const UNetConfig& c = config_;
  const std::int64_t mc = c.model_channels, emb_dim = 4 * mc, groups = c.norm_groups;
  auto transformer = [&](std::int64_t channels) {
    return SpatialTransformer(channels, c.heads_for(channels), c.transformer_depth, c.context_dim,
                              c.use_linear_in_transformer, groups, options);
  };

  auto time_embed = node(*this, "time_embed");
  time_embed_0 = time_embed->register_module("0", Linear(mc, emb_dim, true, options));
  time_embed_2 = time_embed->register_module("2", Linear(emb_dim, emb_dim, true, options));

  auto inputs = node(*this, "input_blocks");
  auto new_input_block = [&]() {
    input_blocks.push_back(inputs->register_module(std::to_string(input_blocks.size()), UNetBlock()));
    return input_blocks.back();
  };
  {
    auto block = new_input_block();
    block->conv_in = block->register_module("0", Conv2d(c.in_channels, mc, 3, 1, 1, options));
  }
  std::vector<std::int64_t> skip_channels{mc};
  std::int64_t ch = mc;
  for (std::int64_t level = 0; level < c.levels(); ++level) {
    for (std::int64_t r = 0; r < c.num_res_blocks; ++r) {
      auto block = new_input_block();
      const std::int64_t out_ch = mc * c.channel_mult[level];
      block->res = block->register_module("0", ResBlock(ch, emb_dim, out_ch, groups, options));
      ch = out_ch;
      if (c.has_attention(level)) block->transformer = block->register_module("1", transformer(ch));
      skip_channels.push_back(ch);
    }
    if (level + 1 < c.levels()) {
      auto block = new_input_block();
      block->downsample = node(*block, "0")->register_module("op", Conv2d(ch, ch, 3, 2, 1, options));
      skip_channels.push_back(ch);
    }
  }

  middle_block = register_module("middle_block", UNetBlock());
  middle_block->res = middle_block->register_module("0", ResBlock(ch, emb_dim, ch, groups, options));
  middle_block->transformer = middle_block->register_module("1", transformer(ch));
  middle_block->res2 = middle_block->register_module("2", ResBlock(ch, emb_dim, ch, groups, options));

  auto outputs = node(*this, "output_blocks");
  for (std::int64_t level = c.levels() - 1; level >= 0; --level) {
    for (std::int64_t r = 0; r <= c.num_res_blocks; ++r) {
      auto block = outputs->register_module(std::to_string(output_blocks.size()), UNetBlock());
      output_blocks.push_back(block);
      const std::int64_t skip = skip_channels.back();
      skip_channels.pop_back();
      const std::int64_t out_ch = mc * c.channel_mult[level];
      block->res = block->register_module("0", ResBlock(ch + skip, emb_dim, out_ch, groups, options));
      ch = out_ch;
      int index = 1;
      if (c.has_attention(level)) block->transformer = block->register_module(std::to_string(index++), transformer(ch));
      if (level > 0 && r == c.num_res_blocks)
        block->upsample =
            node(*block, std::to_string(index))->register_module("conv", Conv2d(ch, ch, 3, 1, 1, options));
    }
  }

  auto out = node(*this, "out");
  out_norm = out->register_module("0", GroupNorm(groups, ch, 1e-5, options));
  out_conv = out->register_module("2", Conv2d(ch, c.out_channels, 3, 1, 1, options));
  set_weight_prepacking(true);
}

torch::Tensor UNetModelImpl::forward(const torch::Tensor& x_in, const torch::Tensor& timesteps,
                                     const torch::Tensor& context, const UNetObserver& observer) {
  ModelInputs inputs;
  inputs.context = context;
  return forward(x_in, timesteps, inputs, observer);
}

torch::Tensor UNetModelImpl::forward(const torch::Tensor& x_noisy, const torch::Tensor& timesteps_in,
                                     const ModelInputs& inputs, const UNetObserver& observer) {
  const UNetConfig& c = config_;
  const torch::TensorOptions options = out_conv->weight.options();
  auto input_error = [](const std::string& what, c10::IntArrayRef got) {
    std::ostringstream message;
    message << "U-Net forward: " << what << ", got " << got;
    throw std::invalid_argument(message.str());
  };
  if (inputs.y.defined())
    input_error("this U-Net has no label_emb, so it takes no y vector", inputs.y.sizes());
  torch::Tensor x_in = x_noisy;
  if (inputs.concat.defined()) {
    if (x_noisy.dim() != 4 || inputs.concat.dim() != 4 || inputs.concat.size(0) != x_noisy.size(0) ||
        inputs.concat.size(2) != x_noisy.size(2) || inputs.concat.size(3) != x_noisy.size(3))
      input_error("concat must be [B,C',H,W] with x's batch and size", inputs.concat.sizes());
    x_in = torch::cat({x_noisy, inputs.concat.to(x_noisy.options())}, 1);
  }
  if (x_in.dim() != 4 || x_in.size(1) != c.in_channels)
    input_error(std::string(inputs.concat.defined() ? "x and concat together" : "x") + " must be [B," +
                    std::to_string(c.in_channels) + ",H,W]",
                x_in.sizes());
  const torch::Tensor& context_in = inputs.context;
  if (!context_in.defined()) input_error("a context (cross-attention tokens) is required", {});
  const std::int64_t batch = x_in.size(0), multiple = std::int64_t{1} << (c.levels() - 1);
  if (x_in.size(2) % multiple != 0 || x_in.size(3) % multiple != 0)
    input_error("x's height and width must be multiples of " + std::to_string(multiple), x_in.sizes());
  if (context_in.dim() != 3 || context_in.size(0) != batch || context_in.size(2) != c.context_dim)
    input_error("context must be [" + std::to_string(batch) + ",M," + std::to_string(c.context_dim) + "]",
                context_in.sizes());
  torch::Tensor timesteps = timesteps_in.reshape({-1});
  if (timesteps.numel() == 1 && batch != 1) timesteps = timesteps.expand({batch});
  if (timesteps.numel() != batch) input_error("timesteps must hold one value per batch item", timesteps_in.sizes());

  const torch::Tensor x = x_in.to(options);
  const torch::Tensor context = context_in.to(options).contiguous();
  struct PackingScope {  // restores the caller's setting on exit, also when a block throws
    bool saved = t_packing_allowed;
    ~PackingScope() { t_packing_allowed = saved; }
  } packing_scope;
  t_packing_allowed = x.size(2) * x.size(3) <= kPackedStepMaxLatentPixels;

  torch::Tensor emb = timestep_embedding(timesteps.to(options.device()), c.model_channels).to(options);
  emb = run(time_embed_0, time_embed_0_packed, emb);
  emb = run(time_embed_2, time_embed_2_packed, silu_inplace(emb));
  if (observer) observer("time_embed", emb);
  const torch::Tensor emb_silu = torch::silu(emb);  // every ResBlock's emb_layers starts with SiLU

  std::vector<torch::Tensor> skips;
  skips.reserve(input_blocks.size());
  torch::Tensor h = x;
  for (std::size_t i = 0; i < input_blocks.size(); ++i) {
    h = input_blocks[i]->forward(h, emb_silu, context);
    skips.push_back(h);
    if (observer) observer("input_blocks." + std::to_string(i), h);
  }
  h = middle_block->forward(h, emb_silu, context);
  if (observer) observer("middle_block", h);
  for (std::size_t i = 0; i < output_blocks.size(); ++i) {
    h = torch::cat({h, skips.back()}, 1);
    skips.pop_back();  // frees the skip once it is consumed
    h = output_blocks[i]->forward(h, emb_silu, context);
    if (observer) observer("output_blocks." + std::to_string(i), h);
  }
  return run(out_conv, out_conv_packed, silu_inplace(out_norm(h)));
}

std::vector<OneDnnWeightCache*> ResBlockImpl::weight_caches() {
  return {&in_conv_packed, &emb_linear_packed, &out_conv_packed, &skip_packed};
}
std::vector<OneDnnWeightCache*> CrossAttentionImpl::weight_caches() {
  return {&to_q_packed, &to_k_packed, &to_v_packed, &to_out_packed};
}
std::vector<OneDnnWeightCache*> BasicTransformerBlockImpl::weight_caches() {
  return {&ff_value_packed, &ff_gate_packed, &ff_out_packed};
}
std::vector<OneDnnWeightCache*> SpatialTransformerImpl::weight_caches() { return {&proj_in_packed, &proj_out_packed}; }
std::vector<OneDnnWeightCache*> UNetBlockImpl::weight_caches() {
  return {&conv_in_packed, &downsample_packed, &upsample_packed};
}

void UNetModelImpl::set_weight_prepacking(bool enabled) {
  std::vector<OneDnnWeightCache*> caches{&time_embed_0_packed, &time_embed_2_packed, &out_conv_packed};
  auto collect = [&](auto module) {
    if (module)
      for (auto* cache : module->weight_caches()) caches.push_back(cache);
  };
  for (const auto& module : modules(/*include_self=*/false)) {
    collect(std::dynamic_pointer_cast<ResBlockImpl>(module));
    collect(std::dynamic_pointer_cast<CrossAttentionImpl>(module));
    collect(std::dynamic_pointer_cast<BasicTransformerBlockImpl>(module));
    collect(std::dynamic_pointer_cast<SpatialTransformerImpl>(module));
    collect(std::dynamic_pointer_cast<UNetBlockImpl>(module));
  }
  for (auto* cache : caches) cache->set_enabled(enabled);
}

UNetModel load_unet(const SafetensorsFile& file, std::string_view prefix,
                    const std::optional<nlohmann::json>& config_override, const torch::TensorOptions& options) {
  const ShapeMap shapes = shapes_under(file, prefix);
  if (shapes.empty())
    throw std::invalid_argument(file.path().string() + ": no tensors under '" + std::string(prefix) + "'");
  UNetConfig config;
  try {
    config = detect_unet_config(shapes);
    if (config_override) config = merge_unet_config(config, *config_override);
  } catch (const std::invalid_argument& error) {
    throw std::invalid_argument(file.path().string() + " ('" + std::string(prefix) + "'): " + error.what());
  }
  UNetModel model(config, options);
  load_weights(*model, file, prefix);
  model->eval();
  return model;
}

}  // namespace diffgraph::models
