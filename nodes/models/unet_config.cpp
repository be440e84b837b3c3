#include "unet_config.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>
#include <string>

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

// Sets the transformer depths canonically from one count per level (or one for all) and the
// middle block's (-1: the last entry of `per_level`, as sgm does): a single transformer_depth
// when every transformer has the same depth, else per level with 0 where there is no attention.
void set_depths(UNetConfig& c, std::vector<std::int64_t> per_level, std::int64_t middle, const std::string& field) {
  const auto levels = static_cast<std::size_t>(c.levels());
  if (per_level.empty()) config_error(field, "lists no depth");
  if (middle < 0) middle = per_level.back();
  if (per_level.size() == 1) per_level.assign(levels, per_level.front());
  if (per_level.size() != levels)
    config_error(field, "lists " + std::to_string(per_level.size()) + " depths, the model has " +
                            std::to_string(levels) + " levels");
  std::set<std::int64_t> depths{middle};
  for (std::size_t level = 0; level < levels; ++level) {
    if (!c.has_attention(static_cast<std::int64_t>(level))) {
      per_level[level] = 0;
      continue;
    }
    depths.insert(per_level[level]);
  }
  if (depths.size() == 1) {
    c.transformer_depth = middle;
    c.transformer_depth_levels.clear();
    c.transformer_depth_middle = -1;
  } else {
    c.transformer_depth = -1;
    c.transformer_depth_levels = std::move(per_level);
    c.transformer_depth_middle = middle;
  }
}

// CompVis configs list the attention factors as [4, 2, 1]; keep that order so a parsed, a
// detected and a written config compare equal.
void normalise_attention_resolutions(std::vector<std::int64_t>& ds) {
  std::sort(ds.begin(), ds.end(), std::greater<>());
  ds.erase(std::unique(ds.begin(), ds.end()), ds.end());
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
  for (const char* unsupported : {"num_class_embeds", "class_embed_type", "disable_self_attentions",
                                  "num_attention_blocks"}) {
    if (present(json, unsupported))
      config_error(unsupported, "is set (" + json.at(unsupported).dump() +
                                    "): only SD/SDXL-style text-conditioned U-Nets are supported");
  }
  // The label embedding of SDXL-style U-Nets: sgm's num_classes "sequential" + adm_in_channels,
  // diffusers' addition_embed_type "text_time" + projection_class_embeddings_input_dim.
  if (present(json, "adm_in_channels")) c.adm_in_channels = as_int(json.at("adm_in_channels"), "adm_in_channels");
  if (present(json, "num_classes")) {
    const auto& classes = json.at("num_classes");
    if (!classes.is_string() || classes.get<std::string>() != "sequential")
      config_error("num_classes", "is " + classes.dump() + ": class-conditional U-Nets are not supported (only \"sequential\")");
    if (c.adm_in_channels <= 0) config_error("num_classes", "is \"sequential\" without adm_in_channels");
  } else if (present(json, "adm_in_channels") && c.adm_in_channels > 0) {
    config_error("adm_in_channels", "is set without num_classes \"sequential\"");
  }
  if (present(json, "addition_embed_type")) {
    const auto& type = json.at("addition_embed_type");
    if (!type.is_string() || type.get<std::string>() != "text_time")
      config_error("addition_embed_type", "is " + type.dump() + ": only \"text_time\" (SDXL) is supported");
    if (!present(json, "projection_class_embeddings_input_dim"))
      config_error("addition_embed_type", "is \"text_time\" without projection_class_embeddings_input_dim");
    c.adm_in_channels =
        as_int(json.at("projection_class_embeddings_input_dim"), "projection_class_embeddings_input_dim");
  }
  // Depths are set once the levels and attention are known (set_depths below).
  std::vector<std::int64_t> depths;
  std::int64_t depth_middle = c.depth_middle();
  std::string depth_field = "transformer_depth";
  if (c.transformer_depth_levels.empty()) {
    depths = {c.transformer_depth};
  } else {
    depths = c.transformer_depth_levels;
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
  for (const char* field : {"transformer_depth", "transformer_layers_per_block"}) {
    if (!present(json, field)) continue;
    const auto& value = json.at(field);
    depths = value.is_array() ? as_int_list(value, field) : std::vector<std::int64_t>{as_int(value, field)};
    depth_middle = -1;  // the last entry, unless transformer_depth_middle says otherwise
    depth_field = field;
  }
  if (present(json, "transformer_depth_middle"))
    depth_middle = as_int(json.at("transformer_depth_middle"), "transformer_depth_middle");
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
  // The old per-level depths of `base` belong to its levels; a new channel_mult needs new ones.
  if (depths.size() > 1 && depths.size() != c.channel_mult.size() && !present(json, "transformer_depth") &&
      !present(json, "transformer_layers_per_block"))
    config_error("transformer_depth", "must be given again for the new number of levels");
  set_depths(c, depths, depth_middle, depth_field);
  return c;
}

nlohmann::json UNetConfig::to_json() const {
  nlohmann::json json{{"in_channels", in_channels},
                        {"out_channels", out_channels},
                        {"model_channels", model_channels},
                        {"channel_mult", channel_mult},
                        {"num_res_blocks", num_res_blocks},
                        {"attention_resolutions", attention_resolutions},
                        {"num_heads", num_heads},
                        {"num_head_channels", num_head_channels},
                        {"context_dim", context_dim},
                        {"use_linear_in_transformer", use_linear_in_transformer},
                        {"use_spatial_transformer", true},
                        {"norm_num_groups", norm_groups}};
  if (transformer_depth_levels.empty()) {
    json["transformer_depth"] = transformer_depth;
  } else {
    json["transformer_depth"] = transformer_depth_levels;
    json["transformer_depth_middle"] = transformer_depth_middle;
  }
  if (adm_in_channels > 0) {
    json["num_classes"] = "sequential";
    json["adm_in_channels"] = adm_in_channels;
  }
  return json;
}

std::int64_t UNetConfig::depth_at(std::int64_t level) const {
  if (!has_attention(level)) return 0;
  return transformer_depth_levels.empty() ? transformer_depth
                                          : transformer_depth_levels.at(static_cast<std::size_t>(level));
}

std::int64_t UNetConfig::depth_middle() const {
  return transformer_depth_levels.empty() ? transformer_depth : transformer_depth_middle;
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
  if (transformer_depth_levels.empty()) {
    positive("transformer_depth", transformer_depth);
  } else {
    if (transformer_depth_levels.size() != channel_mult.size())
      config_error("transformer_depth", "lists " + std::to_string(transformer_depth_levels.size()) +
                                            " depths for " + std::to_string(channel_mult.size()) + " levels");
    for (std::size_t level = 0; level < channel_mult.size(); ++level) {
      if (has_attention(static_cast<std::int64_t>(level)))
        positive("transformer_depth", transformer_depth_levels[level]);
    }
    positive("transformer_depth_middle", transformer_depth_middle);
  }
  if (adm_in_channels < 0) config_error("adm_in_channels", "must not be negative");
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
  UNetConfig c;
  const auto& conv_in = shape("input_blocks.0.0.weight", 4);
  c.model_channels = conv_in[0];
  c.in_channels = conv_in[1];
  c.out_channels = shape("out.2.weight", 4)[0];
  c.channel_mult.clear();
  c.attention_resolutions.clear();

  // Walk input_blocks: ResBlocks (with a transformer at attention levels) until a Downsample
  // (`op`) closes the level.
  std::vector<std::int64_t> res_per_level, depth_per_level;
  std::int64_t res_count = 0, level_channels = 0, level_depth = 0;
  bool level_attention = false;
  // The BasicTransformerBlocks of the transformer at `prefix` (…"1.").
  const auto depth_of = [&](const std::string& prefix) {
    std::int64_t depth = 0;
    while (has(prefix + "transformer_blocks." + std::to_string(depth) + ".norm1.weight")) ++depth;
    return depth;
  };
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
    depth_per_level.push_back(level_attention ? level_depth : 0);
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
    const std::int64_t depth = attention ? depth_of(block + "1.") : 0;
    if (res_count > 0 && (channels != level_channels || attention != level_attention || depth != level_depth))
      throw std::invalid_argument("U-Net detection: " + block +
                                  "0 differs in width, attention or transformer depth from the level's first ResBlock");
    level_channels = channels;
    level_attention = attention;
    level_depth = depth;
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

  // The middle block's transformer is present in every SD1/SD2/SDXL U-Net.
  const std::string st = "middle_block.1.";
  if (!has(st + "proj_in.weight"))
    throw std::invalid_argument("U-Net detection: middle_block.1.proj_in.weight is missing: not an SD U-Net");
  c.use_linear_in_transformer = shapes.at(st + "proj_in.weight").size() == 2;
  const std::int64_t middle_depth = depth_of(st);
  if (middle_depth == 0) throw std::invalid_argument("U-Net detection: middle_block.1 has no transformer_blocks");
  set_depths(c, depth_per_level, middle_depth, "transformer_depth");
  c.context_dim = shape(st + "transformer_blocks.0.attn2.to_k.weight", 2)[1];
  // SDXL's label embedding: label_emb.0.0 is Linear(adm_in_channels → time embedding width).
  if (has_prefix("label_emb.")) c.adm_in_channels = shape("label_emb.0.0.weight", 2)[1];

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

}  // namespace diffgraph::models
