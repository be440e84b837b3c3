// vae.cpp — CompVis AutoencoderKL (see vae.hpp).
#include "vae.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "attention.hpp"
#include "config_json.hpp"

namespace diffgraph::models {

// --- configuration ------------------------------------------------------------------------

namespace {

constexpr double kVaeNormEps = 1e-6;  // every VAE GroupNorm

/// Reads the CompVis ddconfig fields of `dd` into `config`; `attn_resolutions` needs the
/// `resolution` to become levels (level i runs at resolution / 2^i).
void read_ddconfig(const nlohmann::json& dd, VaeConfig& config) {
  using namespace config_json;
  const char* what = "VAE config";
  read_positive(dd, what, {"in_channels"}, config.in_channels);
  read_positive(dd, what, {"out_ch", "out_channels"}, config.out_channels);
  read_positive(dd, what, {"ch"}, config.ch);
  read_integer_list(dd, what, {"ch_mult"}, config.ch_mult, 1);
  read_positive(dd, what, {"num_res_blocks"}, config.num_res_blocks);
  read_positive(dd, what, {"z_channels"}, config.z_channels);
  read_bool(dd, what, {"double_z"}, config.double_z);
  read_integer_list(dd, what, {"attention_levels"}, config.attention_levels, 0);
  std::vector<std::int64_t> resolutions;
  if (read_integer_list(dd, what, {"attn_resolutions"}, resolutions, 1)) {
    config.attention_levels.clear();
    if (!resolutions.empty()) {
      std::int64_t resolution = 0;
      if (!read_positive(dd, what, {"resolution"}, resolution)) {
        throw std::invalid_argument("VAE config: attn_resolutions needs 'resolution' to place the attention blocks");
      }
      for (std::size_t level = 0; level < config.ch_mult.size(); ++level) {
        const std::int64_t at = resolution >> level;
        if (std::find(resolutions.begin(), resolutions.end(), at) != resolutions.end()) {
          config.attention_levels.push_back(static_cast<std::int64_t>(level));
        }
      }
    }
  }
}

}  // namespace

VaeConfig VaeConfig::from_json(const nlohmann::json& json, VaeConfig config) {
  using namespace config_json;
  const char* what = "VAE config";
  if (!json.is_object()) throw std::invalid_argument("VAE config: expected a JSON object");
  if (json.contains("ddconfig")) {
    if (!json["ddconfig"].is_object()) throw std::invalid_argument("VAE config: 'ddconfig' must be an object");
    read_ddconfig(json["ddconfig"], config);
  }
  read_ddconfig(json, config);
  read_positive(json, what, {"embed_dim"}, config.embed_dim);
  read_number(json, what, {"scale_factor", "scaling_factor"}, config.scale_factor);
  read_positive(json, what, {"norm_num_groups", "norm_groups"}, config.norm_groups);

  // diffusers AutoencoderKL: absolute widths per level, one latent width for z and embed.
  std::vector<std::int64_t> widths;
  if (read_integer_list(json, what, {"block_out_channels"}, widths, 1)) {
    if (widths.empty()) throw std::invalid_argument("VAE config: 'block_out_channels' is empty");
    config.ch = widths[0];
    config.ch_mult.clear();
    for (auto width : widths) {
      if (width % config.ch != 0) {
        throw std::invalid_argument("VAE config: block_out_channels " + json["block_out_channels"].dump() +
                                    " are not multiples of the first");
      }
      config.ch_mult.push_back(width / config.ch);
    }
    // Diffusers' mid attention is its only one; down/up blocks are plain.
    config.attention_levels.clear();
  }
  read_positive(json, what, {"layers_per_block"}, config.num_res_blocks);
  std::int64_t latent = 0;
  if (read_positive(json, what, {"latent_channels"}, latent)) {
    config.z_channels = latent;
    config.embed_dim = latent;
    config.double_z = true;
  }
  if (config.ch_mult.empty()) throw std::invalid_argument("VAE config: ch_mult is empty");
  if (config.ch % config.norm_groups != 0) {
    throw std::invalid_argument("VAE config: ch " + std::to_string(config.ch) + " is not divisible by " +
                                std::to_string(config.norm_groups) + " norm groups");
  }
  for (auto level : config.attention_levels) {
    if (level >= static_cast<std::int64_t>(config.ch_mult.size())) {
      throw std::invalid_argument("VAE config: attention level " + std::to_string(level) + " does not exist");
    }
  }
  return config;
}

VaeConfig VaeConfig::from_json(const nlohmann::json& json) { return from_json(json, VaeConfig{}); }

nlohmann::json VaeConfig::to_json() const {
  return {
      {"ddconfig",
       {{"double_z", double_z},
        {"z_channels", z_channels},
        {"in_channels", in_channels},
        {"out_ch", out_channels},
        {"ch", ch},
        {"ch_mult", ch_mult},
        {"num_res_blocks", num_res_blocks},
        {"attention_levels", attention_levels}}},
      {"embed_dim", embed_dim},
      {"norm_groups", norm_groups},
      {"scale_factor", scale_factor},
  };
}

namespace {

const std::vector<std::int64_t>& vae_shape(const ShapeMap& shapes, const std::string& key, std::size_t rank) {
  const auto found = shapes.find(key);
  if (found == shapes.end()) throw std::invalid_argument("VAE: tensor '" + key + "' is missing");
  if (found->second.size() != rank) {
    throw std::invalid_argument("VAE: tensor '" + key + "' has rank " + std::to_string(found->second.size()) +
                                ", expected " + std::to_string(rank));
  }
  return found->second;
}


}  // namespace

VaeConfig detect_vae_config(const ShapeMap& shapes) {
  if (!shapes.count("encoder.conv_in.weight") || !shapes.count("decoder.conv_in.weight")) {
    throw std::invalid_argument(
        "not a CompVis AutoencoderKL: 'encoder.conv_in.weight' and 'decoder.conv_in.weight' are required");
  }
  VaeConfig config;
  const auto& conv_in = vae_shape(shapes, "encoder.conv_in.weight", 4);
  config.ch = conv_in[0];
  config.in_channels = conv_in[1];
  const std::int64_t levels = count_numbered(shapes, "encoder.down.");
  if (levels == 0) throw std::invalid_argument("VAE: no 'encoder.down.N' levels");
  config.ch_mult.clear();
  for (std::int64_t level = 0; level < levels; ++level) {
    const std::string stem = "encoder.down." + std::to_string(level) + ".";
    const std::int64_t width = vae_shape(shapes, stem + "block.0.conv1.weight", 4)[0];
    if (width % config.ch != 0) {
      throw std::invalid_argument("VAE: level " + std::to_string(level) + " width " + std::to_string(width) +
                                  " is not a multiple of the base width " + std::to_string(config.ch));
    }
    config.ch_mult.push_back(width / config.ch);
    if (shapes.count(stem + "attn.0.q.weight")) config.attention_levels.push_back(level);
  }
  config.num_res_blocks = count_numbered(shapes, "encoder.down.0.block.");
  config.z_channels = vae_shape(shapes, "decoder.conv_in.weight", 4)[1];
  config.double_z = vae_shape(shapes, "encoder.conv_out.weight", 4)[0] == 2 * config.z_channels;
  config.embed_dim = vae_shape(shapes, "post_quant_conv.weight", 4)[1];
  config.out_channels = vae_shape(shapes, "decoder.conv_out.weight", 4)[0];
  return config;
}

LoadWeightsOptions vae_weight_options() {
  LoadWeightsOptions options;
  options.ignore_key = [](std::string_view key) { return key.starts_with("loss."); };
  return options;
}

// --- modules ------------------------------------------------------------------------------

namespace {

torch::Tensor swish(const torch::Tensor& x) { return x * torch::sigmoid(x); }

}  // namespace

VaeResnetBlockImpl::VaeResnetBlockImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t groups,
                                       const torch::TensorOptions& options) {
  norm1 = register_module("norm1", GroupNorm(groups, in_channels, kVaeNormEps, options));
  conv1 = register_module("conv1", Conv2d(in_channels, out_channels, 3, 1, 1, options));
  norm2 = register_module("norm2", GroupNorm(groups, out_channels, kVaeNormEps, options));
  conv2 = register_module("conv2", Conv2d(out_channels, out_channels, 3, 1, 1, options));
  if (in_channels != out_channels) {
    nin_shortcut = register_module("nin_shortcut", Conv2d(in_channels, out_channels, 1, 1, 0, options));
  }
}

torch::Tensor VaeResnetBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = conv1(swish(norm1(x)));
  h = conv2(swish(norm2(h)));  // dropout is 0 at inference
  return (nin_shortcut ? nin_shortcut(x) : x) + h;
}

VaeAttnBlockImpl::VaeAttnBlockImpl(std::int64_t channels, std::int64_t groups, const torch::TensorOptions& options) {
  norm = register_module("norm", GroupNorm(groups, channels, kVaeNormEps, options));
  q = register_module("q", Conv2d(channels, channels, 1, 1, 0, options));
  k = register_module("k", Conv2d(channels, channels, 1, 1, 0, options));
  v = register_module("v", Conv2d(channels, channels, 1, 1, 0, options));
  proj_out = register_module("proj_out", Conv2d(channels, channels, 1, 1, 0, options));
}

torch::Tensor VaeAttnBlockImpl::forward(const torch::Tensor& x) {
  const auto batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
  const torch::Tensor h = norm(x);
  // [B,C,H,W] → [B,1,HW,C]: one head over all channels.
  auto tokens = [&](const torch::Tensor& t) { return t.reshape({batch, 1, channels, height * width}).transpose(2, 3); };
  const torch::Tensor out = attention(tokens(q(h)), tokens(k(h)), tokens(v(h)),
                                      1.0 / std::sqrt(static_cast<double>(channels)));
  return x + proj_out(out.transpose(2, 3).reshape({batch, channels, height, width}));
}

VaeDownsampleImpl::VaeDownsampleImpl(std::int64_t channels, const torch::TensorOptions& options) {
  conv = register_module("conv", Conv2d(channels, channels, 3, 2, 0, options));
}

torch::Tensor VaeDownsampleImpl::forward(const torch::Tensor& x) {
  // CompVis pads asymmetrically (right/bottom only), unlike the U-Net's padding=1.
  return conv(torch::constant_pad_nd(x, {0, 1, 0, 1}, 0));
}

VaeUpsampleImpl::VaeUpsampleImpl(std::int64_t channels, const torch::TensorOptions& options) {
  conv = register_module("conv", Conv2d(channels, channels, 3, 1, 1, options));
}

torch::Tensor VaeUpsampleImpl::forward(const torch::Tensor& x) {
  return conv(torch::upsample_nearest2d(x, {x.size(2) * 2, x.size(3) * 2}));
}

torch::Tensor VaeLevelImpl::forward(torch::Tensor x) {
  for (std::size_t j = 0; j < block->size(); ++j) {
    x = block->ptr<VaeResnetBlockImpl>(j)->forward(x);
    if (attn) x = attn->ptr<VaeAttnBlockImpl>(j)->forward(x);
  }
  if (downsample) x = downsample(x);
  if (upsample) x = upsample(x);
  return x;
}

VaeMidImpl::VaeMidImpl(std::int64_t channels, std::int64_t groups, const torch::TensorOptions& options) {
  block_1 = register_module("block_1", VaeResnetBlock(channels, channels, groups, options));
  attn_1 = register_module("attn_1", VaeAttnBlock(channels, groups, options));
  block_2 = register_module("block_2", VaeResnetBlock(channels, channels, groups, options));
}

torch::Tensor VaeMidImpl::forward(const torch::Tensor& x) { return block_2(attn_1(block_1(x))); }

namespace {

bool has_attention(const VaeConfig& config, std::size_t level) {
  return std::find(config.attention_levels.begin(), config.attention_levels.end(),
                   static_cast<std::int64_t>(level)) != config.attention_levels.end();
}

}  // namespace

VaeEncoderImpl::VaeEncoderImpl(const VaeConfig& config, const torch::TensorOptions& options) {
  const auto groups = config.norm_groups;
  conv_in = register_module("conv_in", Conv2d(config.in_channels, config.ch, 3, 1, 1, options));
  down = register_module("down", torch::nn::ModuleList());
  std::int64_t block_in = config.ch;
  for (std::size_t level = 0; level < config.ch_mult.size(); ++level) {
    const std::int64_t block_out = config.ch * config.ch_mult[level];
    auto stage = std::make_shared<VaeLevelImpl>();
    stage->block = stage->register_module("block", torch::nn::ModuleList());
    if (has_attention(config, level)) stage->attn = stage->register_module("attn", torch::nn::ModuleList());
    for (std::int64_t j = 0; j < config.num_res_blocks; ++j) {
      stage->block->push_back(VaeResnetBlock(block_in, block_out, groups, options));
      if (stage->attn) stage->attn->push_back(VaeAttnBlock(block_out, groups, options));
      block_in = block_out;
    }
    if (level + 1 != config.ch_mult.size()) {
      stage->downsample = stage->register_module("downsample", VaeDownsample(block_in, options));
    }
    down->push_back(VaeLevel(stage));
  }
  mid = register_module("mid", VaeMid(block_in, groups, options));
  norm_out = register_module("norm_out", GroupNorm(groups, block_in, kVaeNormEps, options));
  conv_out = register_module(
      "conv_out", Conv2d(block_in, config.double_z ? 2 * config.z_channels : config.z_channels, 3, 1, 1, options));
}

torch::Tensor VaeEncoderImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = conv_in(x);
  for (std::size_t level = 0; level < down->size(); ++level) h = down->ptr<VaeLevelImpl>(level)->forward(h);
  h = mid(h);
  return conv_out(swish(norm_out(h)));
}

VaeDecoderImpl::VaeDecoderImpl(const VaeConfig& config, const torch::TensorOptions& options) {
  const auto groups = config.norm_groups;
  const std::size_t levels = config.ch_mult.size();
  std::int64_t block_in = config.ch * config.ch_mult.back();
  conv_in = register_module("conv_in", Conv2d(config.z_channels, block_in, 3, 1, 1, options));
  mid = register_module("mid", VaeMid(block_in, groups, options));
  // Built from the lowest resolution up, but stored by level so the keys read up.<level>.
  std::vector<VaeLevel> stages(levels, VaeLevel(nullptr));
  for (std::size_t level = levels; level-- > 0;) {
    const std::int64_t block_out = config.ch * config.ch_mult[level];
    auto stage = std::make_shared<VaeLevelImpl>();
    stage->block = stage->register_module("block", torch::nn::ModuleList());
    if (has_attention(config, level)) stage->attn = stage->register_module("attn", torch::nn::ModuleList());
    for (std::int64_t j = 0; j < config.num_res_blocks + 1; ++j) {
      stage->block->push_back(VaeResnetBlock(block_in, block_out, groups, options));
      if (stage->attn) stage->attn->push_back(VaeAttnBlock(block_out, groups, options));
      block_in = block_out;
    }
    if (level != 0) stage->upsample = stage->register_module("upsample", VaeUpsample(block_in, options));
    stages[level] = VaeLevel(stage);
  }
  up = register_module("up", torch::nn::ModuleList());
  for (auto& stage : stages) up->push_back(stage);
  norm_out = register_module("norm_out", GroupNorm(groups, block_in, kVaeNormEps, options));
  conv_out = register_module("conv_out", Conv2d(block_in, config.out_channels, 3, 1, 1, options));
}

torch::Tensor VaeDecoderImpl::forward(const torch::Tensor& z) {
  torch::Tensor h = mid(conv_in(z));
  for (std::size_t level = up->size(); level-- > 0;) h = up->ptr<VaeLevelImpl>(level)->forward(h);
  return conv_out(swish(norm_out(h)));
}

torch::Tensor DiagonalGaussian::std() const { return torch::exp(0.5 * logvar); }

torch::Tensor DiagonalGaussian::sample(const torch::Tensor& noise) const {
  if (!noise.sizes().equals(mean.sizes())) {
    throw std::invalid_argument("VAE posterior: noise " + c10::str(noise.sizes()) + " does not match the latent " +
                                c10::str(mean.sizes()));
  }
  return mean + std() * noise.to(mean.options());
}

AutoencoderKLImpl::AutoencoderKLImpl(const VaeConfig& config_, const torch::TensorOptions& options) : config(config_) {
  if (config.ch_mult.empty() || config.num_res_blocks < 1) {
    throw std::invalid_argument("VAE: invalid config (no levels or no blocks)");
  }
  encoder = register_module("encoder", VaeEncoder(config, options));
  decoder = register_module("decoder", VaeDecoder(config, options));
  const std::int64_t moments = config.double_z ? 2 : 1;
  quant_conv = register_module(
      "quant_conv", Conv2d(moments * config.z_channels, moments * config.embed_dim, 1, 1, 0, options));
  post_quant_conv = register_module("post_quant_conv", Conv2d(config.embed_dim, config.z_channels, 1, 1, 0, options));
}

torch::Tensor AutoencoderKLImpl::encode_moments(const torch::Tensor& image) {
  const std::int64_t factor = std::int64_t{1} << (config.ch_mult.size() - 1);
  if (image.dim() != 4 || image.size(1) != config.in_channels || image.size(2) % factor != 0 ||
      image.size(3) % factor != 0) {
    throw std::invalid_argument("VAE encode: image must be [B," + std::to_string(config.in_channels) +
                                ",H,W] with H and W multiples of " + std::to_string(factor) + ", got " +
                                c10::str(image.sizes()));
  }
  const auto& weight = quant_conv->weight;
  return quant_conv(encoder(image.to(weight.device(), weight.scalar_type())));
}

DiagonalGaussian AutoencoderKLImpl::encode(const torch::Tensor& image) {
  if (!config.double_z) throw std::invalid_argument("VAE encode: the encoder has no logvar (double_z is false)");
  const auto moments = encode_moments(image).chunk(2, 1);
  return DiagonalGaussian{moments[0], torch::clamp(moments[1], -30.0, 20.0)};
}

torch::Tensor AutoencoderKLImpl::decode(const torch::Tensor& z) {
  if (z.dim() != 4 || z.size(1) != config.embed_dim) {
    throw std::invalid_argument("VAE decode: latent must be [B," + std::to_string(config.embed_dim) + ",h,w], got " +
                                c10::str(z.sizes()));
  }
  const auto& weight = post_quant_conv->weight;
  return decoder(post_quant_conv(z.to(weight.device(), weight.scalar_type())));
}

}  // namespace diffgraph::models
