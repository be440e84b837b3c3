// checkpoint.cpp — checkpoint inspection, diffusers key renaming and component loaders
// (see checkpoint.hpp).
#include "checkpoint.hpp"

#include <algorithm>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace diffgraph::models {

namespace {

namespace fs = std::filesystem;

// --- small helpers ----------------------------------------------------------------------------

ShapeMap strip_prefix(const ShapeMap& shapes, const std::string& prefix) {
  ShapeMap out;
  for (auto it = shapes.lower_bound(prefix); it != shapes.end() && it->first.starts_with(prefix); ++it) {
    out.emplace(it->first.substr(prefix.size()), it->second);
  }
  return out;
}

std::vector<std::string> split(const std::string& key) {
  std::vector<std::string> parts;
  std::size_t begin = 0;
  while (true) {
    const std::size_t dot = key.find('.', begin);
    parts.push_back(key.substr(begin, dot - begin));
    if (dot == std::string::npos) break;
    begin = dot + 1;
  }
  return parts;
}

/// parts[from…] joined with dots.
std::string join_from(const std::vector<std::string>& parts, std::size_t from) {
  std::string out;
  for (std::size_t i = from; i < parts.size(); ++i) {
    if (!out.empty()) out += '.';
    out += parts[i];
  }
  return out;
}

/// A small non-negative decimal index, or -1.
std::int64_t index_of(const std::string& text) {
  if (text.empty() || text.size() > 6) return -1;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return -1;
  }
  return std::stoll(text);
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot open " + path.string());
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& error) {
    throw std::invalid_argument(path.string() + ": invalid JSON: " + error.what());
  }
}

/// A config section (an object) of the metadata override, or nullptr.
const nlohmann::json* section(const std::optional<nlohmann::json>& config, const char* name, const fs::path& path) {
  if (!config || !config->contains(name)) return nullptr;
  const nlohmann::json& value = (*config)[name];
  if (!value.is_object()) {
    throw std::invalid_argument(path.string() + ": metadata '" + std::string(kConfigMetadataKey) + "' section '" +
                                name + "' must be an object");
  }
  return &value;
}

std::string normalize_prediction(const std::string& value, const std::string& where) {
  if (value == "epsilon" || value == "eps") return "epsilon";
  if (value == "v" || value == "v_prediction" || value == "v-prediction") return "v_prediction";
  throw std::invalid_argument(where + ": unknown prediction type '" + value + "' (epsilon or v_prediction)");
}

/// Runs a detection, prefixing its error with where the tensors are.
template <class Detect>
auto detect_at(const fs::path& file, const std::string& prefix, Detect&& detect) {
  try {
    return detect();
  } catch (const std::invalid_argument& error) {
    throw std::invalid_argument(file.string() + " ('" + prefix + "'): " + error.what());
  }
}

const std::set<std::string>& schedule_buffer_names() {
  static const std::set<std::string> names = {
      "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
      "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod",
      "posterior_variance", "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2",
      "logvar", "denoiser.sigmas" /* sgm (SDXL) */};
  return names;
}

void set_architecture(CheckpointInfo& info) {
  if (info.text_encoder_g) {
    // SDXL: the base pairs CLIP-L with CLIP-G, the refiner has CLIP-G alone.
    info.architecture = info.text_encoder ? "sdxl" : "sdxl_refiner";
  } else if (info.unet && info.unet->config.adm_in_channels > 0) {
    info.architecture = "sdxl";  // a label-embedding U-Net alone: SDXL-family, base or refiner
  } else if (info.text_encoder) {
    const auto& config = info.text_encoder->config;
    const bool sd2 = config.naming == ClipNaming::OpenClip || config.activation == ClipActivation::Gelu;
    info.architecture = sd2 ? "sd2" : "sd1";
    // FrozenOpenCLIPEmbedder (layer="penultimate") skips the last of OpenCLIP's 24 layers.
    info.default_clip_skip = config.naming == ClipNaming::OpenClip ? 2 : 1;
  } else if (info.unet) {
    const auto& config = info.unet->config;
    info.architecture = config.use_linear_in_transformer || config.context_dim == 1024 ? "sd2" : "sd1";
  }
}

// --- single files -----------------------------------------------------------------------------

// Where a single file keeps each component: the checkpoint layouts diffgraph reads, in the order
// they are tried (the first whose marker keys are all present, prefix removed, wins). A new
// layout (another architecture's prefixes) is a row here.
enum class Component { TextEncoder, TextEncoderG, UNet, Vae };

constexpr double kSdxlVaeScaleFactor = 0.13025;

struct ComponentLayout {
  Component component;
  const char* prefix;                    // key prefix of the component's tensors
  KeyNaming naming;                      // U-Net/VAE tensor names (the VAE's is read from its keys)
  std::vector<const char*> markers;      // keys (prefix removed) that identify the layout
  const char* source;                    // whose files look like this
};

const std::vector<ComponentLayout>& single_file_layouts() {
  static const std::vector<ComponentLayout> layouts = {
      {Component::TextEncoder, "conditioner.embedders.0.transformer.text_model.", KeyNaming::CompVis,
       {"embeddings.token_embedding.weight"}, "SDXL base's CLIP-L (Hugging Face names)"},
      {Component::TextEncoderG, "conditioner.embedders.1.model.", KeyNaming::CompVis, {"token_embedding.weight"},
       "SDXL base's OpenCLIP ViT-bigG"},
      {Component::TextEncoderG, "conditioner.embedders.0.model.", KeyNaming::CompVis, {"token_embedding.weight"},
       "SDXL refiner's OpenCLIP ViT-bigG"},
      {Component::TextEncoder, "cond_stage_model.transformer.text_model.", KeyNaming::CompVis,
       {"embeddings.token_embedding.weight"}, "SD1 (Hugging Face CLIP names)"},
      {Component::TextEncoder, "cond_stage_model.transformer.", KeyNaming::CompVis,
       {"embeddings.token_embedding.weight"}, "SD1 saved with old transformers"},
      {Component::TextEncoder, "cond_stage_model.model.", KeyNaming::CompVis, {"token_embedding.weight"},
       "SD2 (OpenCLIP names)"},
      {Component::TextEncoder, "text_model.", KeyNaming::CompVis, {"embeddings.token_embedding.weight"},
       "a standalone Hugging Face text encoder"},
      {Component::TextEncoder, "", KeyNaming::CompVis, {"embeddings.token_embedding.weight"},
       "a standalone Hugging Face text encoder without text_model."},
      {Component::TextEncoder, "", KeyNaming::CompVis, {"positional_embedding"}, "a standalone OpenCLIP text tower"},
      {Component::UNet, "model.diffusion_model.", KeyNaming::CompVis, {"input_blocks.0.0.weight", "time_embed.0.weight"},
       "SD1/SD2 single-file checkpoints (CompVis/LDM)"},
      {Component::UNet, "", KeyNaming::CompVis, {"input_blocks.0.0.weight", "time_embed.0.weight"},
       "a standalone CompVis U-Net"},
      {Component::UNet, "", KeyNaming::Diffusers, {"conv_in.weight", "time_embedding.linear_1.weight"},
       "a standalone diffusers U-Net"},
      {Component::Vae, "first_stage_model.", KeyNaming::CompVis, {"encoder.conv_in.weight", "decoder.conv_in.weight"},
       "SD1/SD2 single-file checkpoints"},
      {Component::Vae, "", KeyNaming::CompVis, {"encoder.conv_in.weight", "decoder.conv_in.weight"},
       "a standalone VAE (CompVis or diffusers names)"},
  };
  return layouts;
}

// The first layout of `component` present in `shapes`, with its tensors (prefix removed).
const ComponentLayout* find_layout(const ShapeMap& shapes, Component component, ShapeMap& tensors) {
  for (const auto& layout : single_file_layouts()) {
    if (layout.component != component) continue;
    ShapeMap sub = strip_prefix(shapes, layout.prefix);
    if (!std::all_of(layout.markers.begin(), layout.markers.end(), [&](const char* key) { return sub.count(key) > 0; }))
      continue;
    tensors = std::move(sub);
    return &layout;
  }
  return nullptr;
}

}  // namespace

CheckpointInfo inspect_shapes(const ShapeMap& shapes, const std::map<std::string, std::string>& metadata,
                              const fs::path& path) {
  CheckpointInfo info;
  info.path = path;
  info.tensor_count = shapes.size();

  std::optional<nlohmann::json> override_config;
  if (const auto it = metadata.find(std::string(kConfigMetadataKey)); it != metadata.end()) {
    try {
      override_config = nlohmann::json::parse(it->second);
    } catch (const nlohmann::json::exception& error) {
      throw std::invalid_argument(path.string() + ": metadata '" + std::string(kConfigMetadataKey) +
                                  "' is not valid JSON: " + error.what());
    }
    if (!override_config->is_object()) {
      throw std::invalid_argument(path.string() + ": metadata '" + std::string(kConfigMetadataKey) +
                                  "' must be a JSON object");
    }
  }

  ShapeMap sub;
  // The text encoders, each configured from its shapes and its metadata section.
  const auto text_encoder = [&](Component component, const char* section_name) {
    std::optional<ComponentInfo<ClipTextConfig>> found;
    if (const ComponentLayout* layout = find_layout(shapes, component, sub)) {
      ComponentInfo<ClipTextConfig> text;
      text.file = path;
      text.prefix = layout->prefix;
      text.tensor_count = sub.size();
      text.config = detect_at(path, text.prefix, [&] {
        ClipTextConfig config = detect_clip_text_config(sub);
        if (const auto* json = section(override_config, section_name, path)) config = ClipTextConfig::from_json(*json, config);
        return config;
      });
      found = std::move(text);
    }
    return found;
  };
  info.text_encoder = text_encoder(Component::TextEncoder, "text_encoder");
  info.text_encoder_g = text_encoder(Component::TextEncoderG, "text_encoder_g");

  if (const ComponentLayout* layout = find_layout(shapes, Component::UNet, sub)) {
    ComponentInfo<UNetConfig> unet;
    unet.file = path;
    unet.prefix = layout->prefix;
    unet.naming = layout->naming;
    unet.tensor_count = sub.size();
    unet.config = detect_at(path, unet.prefix, [&] {
      UNetConfig config =
          detect_unet_config(unet.naming == KeyNaming::Diffusers ? unet_keys_from_diffusers(sub).shapes : sub);
      if (const auto* json = section(override_config, "unet", path)) config = merge_unet_config(config, *json);
      return config;
    });
    info.unet = std::move(unet);
  }

  if (const ComponentLayout* layout = find_layout(shapes, Component::Vae, sub)) {
    ComponentInfo<VaeConfig> vae;
    vae.file = path;
    vae.prefix = layout->prefix;
    vae.naming = sub.count("encoder.down_blocks.0.resnets.0.conv1.weight") ? KeyNaming::Diffusers : KeyNaming::CompVis;
    vae.tensor_count = sub.size();
    vae.config = detect_at(path, vae.prefix, [&] {
      VaeConfig config = detect_vae_config(vae.naming == KeyNaming::Diffusers ? vae_keys_from_diffusers(sub).shapes : sub);
      if (const auto* json = section(override_config, "vae", path)) config = VaeConfig::from_json(*json, config);
      return config;
    });
    info.vae = std::move(vae);
  }

  // What the components do not cover.
  std::vector<std::string> prefixes;
  if (info.text_encoder) prefixes.push_back(info.text_encoder->prefix);
  if (info.text_encoder_g) prefixes.push_back(info.text_encoder_g->prefix);
  if (info.unet) prefixes.push_back(info.unet->prefix);
  if (info.vae) prefixes.push_back(info.vae->prefix);
  std::vector<std::string> unrecognised;
  for (const auto& [key, shape] : shapes) {
    if (std::any_of(prefixes.begin(), prefixes.end(), [&](const std::string& p) { return key.starts_with(p); })) continue;
    if (schedule_buffer_names().count(key)) {
      ++info.other_tensors["schedule"];
    } else if (key.starts_with("model_ema.")) {
      ++info.other_tensors["ema"];
    } else if (key == "v_pred") {
      ++info.other_tensors["marker"];
    } else {
      ++info.other_tensors["other"];
      if (unrecognised.size() < 5) unrecognised.push_back(key);
    }
  }
  if (!unrecognised.empty()) {
    std::string note = "unrecognised tensors (not loaded), e.g.";
    for (const auto& key : unrecognised) note += " " + key;
    info.notes.push_back(note);
  }

  set_architecture(info);
  // SDXL's latents are scaled by 0.13025 (sgm's scale_factor; not visible in the shapes), unless
  // the checkpoint's own config says otherwise.
  if (info.vae && info.architecture.starts_with("sdxl")) {
    const auto* vae_override = section(override_config, "vae", path);
    if (!vae_override || !vae_override->contains("scale_factor")) info.vae->config.scale_factor = kSdxlVaeScaleFactor;
  }

  // Prediction type: our own metadata, then ModelSpec metadata, then a `v_pred` marker tensor.
  if (override_config && override_config->contains("prediction_type")) {
    const auto& value = (*override_config)["prediction_type"];
    if (!value.is_string()) {
      throw std::invalid_argument(path.string() + ": metadata '" + std::string(kConfigMetadataKey) +
                                  "' prediction_type must be a string");
    }
    info.prediction_type = normalize_prediction(value.get<std::string>(), path.string());
    info.prediction_source = "metadata '" + std::string(kConfigMetadataKey) + "'";
  } else if (const auto it = metadata.find("modelspec.prediction_type"); it != metadata.end()) {
    info.prediction_type = normalize_prediction(it->second, path.string() + " metadata 'modelspec.prediction_type'");
    info.prediction_source = "metadata 'modelspec.prediction_type'";
  } else if (shapes.count("v_pred")) {
    info.prediction_type = "v_prediction";
    info.prediction_source = "marker tensor 'v_pred'";
  }
  return info;
}

namespace {

// --- diffusers folders ------------------------------------------------------------------------

/// The weights file of a diffusers component folder, or nullopt when the folder is absent.
std::optional<fs::path> component_weights(const fs::path& folder, const std::string& stem) {
  if (!fs::is_directory(folder)) return std::nullopt;
  for (const std::string& name : {stem + ".safetensors", stem + ".fp16.safetensors"}) {
    if (fs::is_regular_file(folder / name)) return folder / name;
  }
  throw std::invalid_argument(folder.string() + ": no " + stem + ".safetensors (or " + stem +
                              ".fp16.safetensors); only unsharded safetensors weights are supported");
}

std::optional<nlohmann::json> component_config(const fs::path& folder, const char* name = "config.json") {
  const fs::path path = folder / name;
  if (!fs::is_regular_file(path)) return std::nullopt;
  nlohmann::json json = read_json(path);
  if (!json.is_object()) throw std::invalid_argument(path.string() + ": expected a JSON object");
  return json;
}

template <class Config>
ComponentInfo<Config> folder_component(const fs::path& file, const std::string& prefix, std::size_t tensor_count,
                                       KeyNaming naming) {
  ComponentInfo<Config> component;
  component.file = file;
  component.prefix = prefix;
  component.naming = naming;
  component.tensor_count = tensor_count;
  return component;
}

CheckpointInfo inspect_diffusers_folder(const fs::path& root) {
  CheckpointInfo info;
  info.path = root;
  info.diffusers_folder = true;

  if (const auto file = component_weights(root / "text_encoder", "model")) {
    const auto weights = SafetensorsFile::open(*file);
    info.tensor_count += weights.tensors().size();
    const std::string prefix = weights.find("text_model.embeddings.token_embedding.weight") ? "text_model." : "";
    const ShapeMap shapes = shapes_under(weights, prefix);
    auto text = folder_component<ClipTextConfig>(*file, prefix, shapes.size(), KeyNaming::CompVis);
    const auto json = component_config(root / "text_encoder");
    text.config = detect_at(*file, prefix, [&] {
      ClipTextConfig config = detect_clip_text_config(shapes);
      return json ? ClipTextConfig::from_json(*json, config) : config;
    });
    info.text_encoder = std::move(text);
  }

  if (const auto file = component_weights(root / "unet", "diffusion_pytorch_model")) {
    const auto weights = SafetensorsFile::open(*file);
    info.tensor_count += weights.tensors().size();
    const ShapeMap shapes = shapes_under(weights, "");
    const KeyNaming naming = shapes.count("time_embedding.linear_1.weight") ? KeyNaming::Diffusers : KeyNaming::CompVis;
    auto unet = folder_component<UNetConfig>(*file, "", shapes.size(), naming);
    const auto json = component_config(root / "unet");
    unet.config = detect_at(*file, "", [&] {
      UNetConfig config = detect_unet_config(naming == KeyNaming::Diffusers ? unet_keys_from_diffusers(shapes).shapes : shapes);
      return json ? merge_unet_config(config, *json) : config;
    });
    info.unet = std::move(unet);
  }

  if (const auto file = component_weights(root / "vae", "diffusion_pytorch_model")) {
    const auto weights = SafetensorsFile::open(*file);
    info.tensor_count += weights.tensors().size();
    const ShapeMap shapes = shapes_under(weights, "");
    const KeyNaming naming =
        shapes.count("encoder.down_blocks.0.resnets.0.conv1.weight") ? KeyNaming::Diffusers : KeyNaming::CompVis;
    auto vae = folder_component<VaeConfig>(*file, "", shapes.size(), naming);
    const auto json = component_config(root / "vae");
    vae.config = detect_at(*file, "", [&] {
      VaeConfig config = detect_vae_config(naming == KeyNaming::Diffusers ? vae_keys_from_diffusers(shapes).shapes : shapes);
      return json ? VaeConfig::from_json(*json, config) : config;
    });
    info.vae = std::move(vae);
  }

  if (!info.text_encoder && !info.unet && !info.vae) {
    throw std::invalid_argument(root.string() + ": not a diffusers model folder (no text_encoder/, unet/ or vae/)");
  }
  set_architecture(info);
  // A diffusers SD2 text encoder stores only the layers the pipeline uses.
  info.default_clip_skip = 1;

  if (const auto scheduler = component_config(root / "scheduler", "scheduler_config.json")) {
    if (scheduler->contains("prediction_type")) {
      const auto& value = (*scheduler)["prediction_type"];
      const std::string where = (root / "scheduler" / "scheduler_config.json").string();
      if (!value.is_string()) throw std::invalid_argument(where + ": prediction_type must be a string");
      info.prediction_type = normalize_prediction(value.get<std::string>(), where);
      info.prediction_source = "scheduler/scheduler_config.json";
    }
  }
  return info;
}

}  // namespace

CheckpointInfo inspect_checkpoint(const fs::path& path) {
  if (fs::is_directory(path)) return inspect_diffusers_folder(path);
  const std::string extension = path.extension().string();
  if (extension == ".ckpt" || extension == ".pt" || extension == ".pth" || extension == ".bin") {
    throw SafetensorsError(path.string() + ": pickle checkpoints are not supported (loading them can run code); "
                           "convert the file to .safetensors");
  }
  const auto file = SafetensorsFile::open(path);
  return inspect_shapes(shapes_under(file, ""), file.metadata(), path);
}

// --- description ------------------------------------------------------------------------------

namespace {

std::string list_text(const std::vector<std::int64_t>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + std::to_string(values[i]);
  return out + "]";
}

std::string where_text(const fs::path& file, const std::string& prefix, const CheckpointInfo& info) {
  std::string out;
  if (info.diffusers_folder) out += fs::relative(file, info.path).string();
  if (!prefix.empty()) out += (out.empty() ? "" : " ") + std::string("'") + prefix + "'";
  if (out.empty()) out = "root";
  return out;
}

}  // namespace

std::string describe(const CheckpointInfo& info) {
  std::ostringstream out;
  out << "checkpoint:   " << info.path.string() << (info.diffusers_folder ? " (diffusers folder, " : " (single file, ")
      << info.tensor_count << " tensors)\n";
  out << "architecture: " << info.architecture << "\n";
  out << "prediction:   " << info.prediction_type << " (" << info.prediction_source << ")\n";
  const auto describe_text_encoder = [&](const char* label, const std::optional<ComponentInfo<ClipTextConfig>>& text) {
    if (!text) return;
    const auto& c = text->config;
    out << label << where_text(text->file, text->prefix, info) << ", "
        << (c.naming == ClipNaming::OpenClip ? "OpenCLIP" : "Hugging Face") << " names, " << text->tensor_count
        << " tensors\n"
        << "              width " << c.width << ", " << c.layers << " layers, " << c.heads << " heads, MLP "
        << c.mlp_width << ", " << (c.activation == ClipActivation::QuickGelu ? "quick_gelu" : "gelu") << ", "
        << c.max_positions << " positions, vocab " << c.vocab_size;
    if (c.projection_dim > 0) out << ", projection " << c.projection_dim;
    out << "; default clip skip " << info.default_clip_skip << "\n";
  };
  if (!info.text_encoder && !info.text_encoder_g) out << "text encoder: none\n";
  describe_text_encoder(info.text_encoder_g ? "CLIP-L:       " : "text encoder: ", info.text_encoder);
  describe_text_encoder("CLIP-G:       ", info.text_encoder_g);
  if (const auto& unet = info.unet) {
    const auto& c = unet->config;
    out << "unet:         " << where_text(unet->file, unet->prefix, info) << ", "
        << (unet->naming == KeyNaming::Diffusers ? "diffusers" : "CompVis") << " names, " << unet->tensor_count
        << " tensors\n"
        << "              in " << c.in_channels << ", out " << c.out_channels << ", model_channels "
        << c.model_channels << ", channel_mult " << list_text(c.channel_mult) << ", " << c.num_res_blocks
        << " res blocks, attention at ds " << list_text(c.attention_resolutions) << ", ";
    if (c.num_heads > 0) {
      out << c.num_heads << " heads";
    } else {
      out << c.num_head_channels << "-channel heads";
    }
    if (c.transformer_depth_levels.empty()) {
      out << ", depth " << c.transformer_depth;
    } else {
      out << ", depth " << list_text(c.transformer_depth_levels) << " (middle " << c.transformer_depth_middle << ")";
    }
    out << ", context " << c.context_dim << ", " << (c.use_linear_in_transformer ? "linear" : "conv") << " projections";
    if (c.adm_in_channels > 0) out << ", label_emb " << c.adm_in_channels;
    out << "\n";
  } else {
    out << "unet:         none\n";
  }
  if (const auto& vae = info.vae) {
    const auto& c = vae->config;
    out << "vae:          " << where_text(vae->file, vae->prefix, info) << ", "
        << (vae->naming == KeyNaming::Diffusers ? "diffusers" : "CompVis") << " names, " << vae->tensor_count
        << " tensors\n"
        << "              ch " << c.ch << ", ch_mult " << list_text(c.ch_mult) << ", " << c.num_res_blocks
        << " res blocks, z " << c.z_channels << ", embed " << c.embed_dim << ", attention levels "
        << list_text(c.attention_levels) << ", scale factor " << c.scale_factor << "\n";
  } else {
    out << "vae:          none\n";
  }
  if (!info.other_tensors.empty()) {
    out << "other:       ";
    for (const auto& [kind, count] : info.other_tensors) out << " " << count << " " << kind;
    out << " (not loaded)\n";
  }
  for (const auto& note : info.notes) out << "note:         " << note << "\n";
  return out.str();
}

// --- diffusers key renaming -------------------------------------------------------------------

LoadWeightsOptions KeyRenaming::weight_options() const {
  auto table = std::make_shared<const std::map<std::string, WeightSource>>(sources);
  LoadWeightsOptions options;
  options.source_for = [table](const std::string& parameter) {
    const auto found = table->find(parameter);
    return found != table->end() ? found->second : WeightSource{parameter};
  };
  return options;
}

namespace {

/// diffusers ResnetBlock2D leaf → CompVis ResBlock leaf (first component).
std::string unet_resnet_name(const std::vector<std::string>& parts, std::size_t from) {
  static const std::map<std::string, std::string> names = {
      {"norm1", "in_layers.0"}, {"conv1", "in_layers.2"},  {"time_emb_proj", "emb_layers.1"},
      {"norm2", "out_layers.0"}, {"conv2", "out_layers.3"}, {"conv_shortcut", "skip_connection"}};
  if (from >= parts.size()) return join_from(parts, from);
  const auto found = names.find(parts[from]);
  const std::string rest = join_from(parts, from + 1);
  if (found == names.end()) return join_from(parts, from);
  return rest.empty() ? found->second : found->second + "." + rest;
}

}  // namespace

KeyRenaming unet_keys_from_diffusers(const ShapeMap& diffusers) {
  const std::int64_t n = count_numbered(diffusers, "down_blocks.0.resnets.");
  auto up_has_attention = [&](std::int64_t level) {
    const std::string stem = "up_blocks." + std::to_string(level) + ".attentions.";
    const auto it = diffusers.lower_bound(stem);
    return it != diffusers.end() && it->first.starts_with(stem);
  };
  auto rename = [&](const std::string& key) -> std::string {
    const auto p = split(key);
    const auto s = [](std::int64_t v) { return std::to_string(v); };
    if (p.size() >= 3 && p[0] == "time_embedding" && (p[1] == "linear_1" || p[1] == "linear_2")) {
      return std::string("time_embed.") + (p[1] == "linear_1" ? "0." : "2.") + join_from(p, 2);
    }
    if (p.size() >= 2 && p[0] == "conv_in") return "input_blocks.0.0." + join_from(p, 1);
    if (p.size() >= 2 && p[0] == "conv_norm_out") return "out.0." + join_from(p, 1);
    if (p.size() >= 2 && p[0] == "conv_out") return "out.2." + join_from(p, 1);
    if (p.size() >= 5 && p[0] == "down_blocks") {
      const auto level = index_of(p[1]), j = index_of(p[3]);
      if (level < 0 || j < 0) return key;
      const auto first = 1 + level * (n + 1);
      if (p[2] == "resnets") return "input_blocks." + s(first + j) + ".0." + unet_resnet_name(p, 4);
      if (p[2] == "attentions") return "input_blocks." + s(first + j) + ".1." + join_from(p, 4);
      if (p[2] == "downsamplers" && j == 0 && p[4] == "conv") return "input_blocks." + s(first + n) + ".0.op." + join_from(p, 5);
      return key;
    }
    if (p.size() >= 4 && p[0] == "mid_block") {
      const auto j = index_of(p[2]);
      if (p[1] == "resnets" && (j == 0 || j == 1)) return "middle_block." + s(j == 0 ? 0 : 2) + "." + unet_resnet_name(p, 3);
      if (p[1] == "attentions" && j == 0) return "middle_block.1." + join_from(p, 3);
      return key;
    }
    if (p.size() >= 5 && p[0] == "up_blocks") {
      const auto level = index_of(p[1]), j = index_of(p[3]);
      if (level < 0 || j < 0) return key;
      const auto first = level * (n + 1);
      if (p[2] == "resnets") return "output_blocks." + s(first + j) + ".0." + unet_resnet_name(p, 4);
      if (p[2] == "attentions") return "output_blocks." + s(first + j) + ".1." + join_from(p, 4);
      if (p[2] == "upsamplers" && j == 0 && p[4] == "conv") {
        // The upsampler follows the ResBlock and, on levels with attention, the transformer.
        return "output_blocks." + s(first + n) + (up_has_attention(level) ? ".2" : ".1") + ".conv." + join_from(p, 5);
      }
      return key;
    }
    return key;  // attention internals and unknown keys keep their names
  };
  KeyRenaming renaming;
  for (const auto& [key, shape] : diffusers) {
    const std::string name = rename(key);
    renaming.shapes[name] = shape;
    renaming.sources[name] = WeightSource{key};
  }
  return renaming;
}

KeyRenaming vae_keys_from_diffusers(const ShapeMap& diffusers) {
  const std::int64_t levels = count_numbered(diffusers, "decoder.up_blocks.");
  KeyRenaming renaming;
  for (const auto& [key, stored_shape] : diffusers) {
    const auto p = split(key);
    std::vector<std::int64_t> shape = stored_shape;
    bool reshape = false;

    // Inside a block: ResnetBlock2D or the mid Attention.
    auto resnet = [&](std::size_t from) {
      if (from < p.size() && p[from] == "conv_shortcut") return "nin_shortcut." + join_from(p, from + 1);
      return join_from(p, from);
    };
    auto attention = [&](std::size_t from) {
      static const std::map<std::string, std::string> names = {
          {"group_norm", "norm"}, {"to_q", "q"}, {"query", "q"}, {"to_k", "k"}, {"key", "k"},
          {"to_v", "v"},         {"value", "v"}, {"proj_attn", "proj_out"}};
      std::string leaf;
      std::size_t rest = from + 1;
      if (from < p.size() && p[from] == "to_out" && from + 1 < p.size() && p[from + 1] == "0") {
        leaf = "proj_out";
        rest = from + 2;
      } else if (from < p.size() && names.count(p[from])) {
        leaf = names.at(p[from]);
      } else {
        return join_from(p, from);
      }
      // Diffusers holds the 1×1 convolutions as linear [C,C] weights.
      if (leaf != "norm" && shape.size() == 2) {
        shape.push_back(1);
        shape.push_back(1);
        reshape = true;
      }
      const std::string tail = join_from(p, rest);
      return tail.empty() ? leaf : leaf + "." + tail;
    };

    std::string name = key;
    if (p.size() >= 3 && (p[0] == "encoder" || p[0] == "decoder")) {
      const std::string& side = p[0];
      if (p[1] == "conv_norm_out") {
        name = side + ".norm_out." + join_from(p, 2);
      } else if (p[1] == "mid_block" && p.size() >= 5) {
        const auto j = index_of(p[3]);
        if (p[2] == "resnets" && (j == 0 || j == 1)) name = side + ".mid.block_" + std::to_string(j + 1) + "." + resnet(4);
        if (p[2] == "attentions" && j == 0) name = side + ".mid.attn_1." + attention(4);
      } else if ((p[1] == "down_blocks" || p[1] == "up_blocks") && p.size() >= 6) {
        std::int64_t level = index_of(p[2]);
        const auto j = index_of(p[4]);
        if (level >= 0 && j >= 0) {
          const bool down = p[1] == "down_blocks";
          if (!down) level = levels - 1 - level;  // diffusers counts decoder levels from the lowest resolution
          const std::string stem = side + (down ? ".down." : ".up.") + std::to_string(level) + ".";
          if (p[3] == "resnets") name = stem + "block." + std::to_string(j) + "." + resnet(5);
          if (p[3] == "attentions") name = stem + "attn." + std::to_string(j) + "." + attention(5);
          if ((p[3] == "downsamplers" || p[3] == "upsamplers") && j == 0 && p[5] == "conv") {
            name = stem + (down ? "downsample.conv." : "upsample.conv.") + join_from(p, 6);
          }
        }
      }
    }
    renaming.shapes[name] = shape;
    renaming.sources[name] = WeightSource{key, 0, -1, reshape};
  }
  return renaming;
}

// --- loaders ----------------------------------------------------------------------------------

torch::TensorOptions model_options(const torch::TensorOptions& requested) {
  const torch::Device device = requested.has_device() ? requested.device() : torch::Device(torch::kCPU);
  torch::Dtype dtype = requested.has_dtype() ? c10::typeMetaToScalarType(requested.dtype()) : torch::kFloat32;
  if (!c10::isFloatingType(dtype)) {
    throw std::invalid_argument(std::string("models need a floating-point dtype, not ") + c10::toString(dtype));
  }
  if (device.is_cpu() && (dtype == torch::kFloat16 || dtype == torch::kBFloat16)) dtype = torch::kFloat32;
  return torch::TensorOptions().device(device).dtype(dtype);
}

namespace {

template <class Config>
const ComponentInfo<Config>& require(const std::optional<ComponentInfo<Config>>& component, const CheckpointInfo& info,
                                     const char* what) {
  if (!component) throw std::invalid_argument(info.path.string() + ": the checkpoint has no " + what);
  return *component;
}

/// Adds the VAE's ignore rule to a renaming's options.
LoadWeightsOptions with_ignore(LoadWeightsOptions options, const LoadWeightsOptions& rules) {
  options.ignore_key = rules.ignore_key;
  return options;
}

}  // namespace

ClipTextModel load_clip_text(const CheckpointInfo& info, const torch::TensorOptions& options) {
  return load_clip_text(require(info.text_encoder, info, "text encoder"), options);
}

ClipTextModel load_clip_text_g(const CheckpointInfo& info, const torch::TensorOptions& options) {
  return load_clip_text(require(info.text_encoder_g, info, "CLIP-G text encoder"), options);
}

ClipTextModel load_clip_text(const ComponentInfo<ClipTextConfig>& text, const torch::TensorOptions& options) {
  const auto file = SafetensorsFile::open(text.file);
  ClipTextModel model(text.config, model_options(options));
  load_weights(*model, file, text.prefix, clip_text_weight_options(text.config));
  model->eval();
  return model;
}

AutoencoderKL load_vae(const CheckpointInfo& info, const torch::TensorOptions& options) {
  const auto& vae = require(info.vae, info, "VAE");
  const auto file = SafetensorsFile::open(vae.file);
  AutoencoderKL model(vae.config, model_options(options));
  LoadWeightsOptions weight_options = vae_weight_options();
  if (vae.naming == KeyNaming::Diffusers) {
    weight_options = with_ignore(vae_keys_from_diffusers(shapes_under(file, vae.prefix)).weight_options(), weight_options);
  }
  load_weights(*model, file, vae.prefix, weight_options);
  model->eval();
  return model;
}

UNetModel load_unet(const CheckpointInfo& info, const torch::TensorOptions& options) {
  const auto& unet = require(info.unet, info, "U-Net");
  const auto file = SafetensorsFile::open(unet.file);
  UNetModel model(unet.config, model_options(options));
  LoadWeightsOptions weight_options;
  if (unet.naming == KeyNaming::Diffusers) weight_options = unet_keys_from_diffusers(shapes_under(file, unet.prefix)).weight_options();
  load_weights(*model, file, unet.prefix, weight_options);
  model->eval();
  return model;
}

ClipTextModel load_clip_text(const SafetensorsFile& file, std::string_view prefix,
                             const std::optional<nlohmann::json>& config_override, const torch::TensorOptions& options) {
  const ShapeMap shapes = shapes_under(file, prefix);
  if (shapes.empty()) throw std::invalid_argument(file.path().string() + ": no tensors under '" + std::string(prefix) + "'");
  const ClipTextConfig config = detect_at(file.path(), std::string(prefix), [&] {
    ClipTextConfig detected = detect_clip_text_config(shapes);
    return config_override ? ClipTextConfig::from_json(*config_override, detected) : detected;
  });
  ClipTextModel model(config, model_options(options));
  load_weights(*model, file, prefix, clip_text_weight_options(config));
  model->eval();
  return model;
}

AutoencoderKL load_vae(const SafetensorsFile& file, std::string_view prefix,
                       const std::optional<nlohmann::json>& config_override, const torch::TensorOptions& options) {
  const ShapeMap shapes = shapes_under(file, prefix);
  if (shapes.empty()) throw std::invalid_argument(file.path().string() + ": no tensors under '" + std::string(prefix) + "'");
  const VaeConfig config = detect_at(file.path(), std::string(prefix), [&] {
    VaeConfig detected = detect_vae_config(shapes);
    return config_override ? VaeConfig::from_json(*config_override, detected) : detected;
  });
  AutoencoderKL model(config, model_options(options));
  load_weights(*model, file, prefix, vae_weight_options());
  model->eval();
  return model;
}

}  // namespace diffgraph::models
