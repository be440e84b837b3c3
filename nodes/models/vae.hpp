// vae.hpp — the KL autoencoder (CompVis AutoencoderKL) that maps images to latents and back.
//
// The module tree mirrors CompVis' keys under `first_stage_model.`: encoder.conv_in,
// encoder.down.i.block.j, encoder.down.i.downsample.conv, encoder.mid.{block_1,attn_1,block_2},
// encoder.norm_out, encoder.conv_out, quant_conv, post_quant_conv, decoder.conv_in,
// decoder.mid.*, decoder.up.i.block.j, decoder.up.i.upsample.conv, decoder.norm_out,
// decoder.conv_out. Diffusers files load through vae_diffusers_key (checkpoint.hpp).
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "layers.hpp"
#include "weights.hpp"

namespace diffgraph::models {

/// Hyper-parameters of an AutoencoderKL (CompVis ddconfig + embed_dim + scale factor).
struct VaeConfig {
  std::int64_t in_channels = 3;   ///< image channels into the encoder
  std::int64_t out_channels = 3;  ///< image channels out of the decoder (out_ch)
  std::int64_t ch = 128;          ///< base width
  std::vector<std::int64_t> ch_mult = {1, 2, 4, 4};  ///< width multiplier per level
  std::int64_t num_res_blocks = 2;  ///< encoder blocks per level (the decoder has one more)
  std::int64_t z_channels = 4;      ///< latent channels between encoder/decoder and the quant convs
  std::int64_t embed_dim = 4;       ///< latent channels the diffusion model sees
  bool double_z = true;             ///< the encoder outputs mean and logvar
  /// Levels (0 = full resolution) whose blocks are followed by attention. CompVis gives
  /// attn_resolutions + resolution instead; SD's VAEs have none (only the mid attention).
  std::vector<std::int64_t> attention_levels;
  std::int64_t norm_groups = 32;  ///< GroupNorm groups (not visible in shapes)
  /// latent = scale_factor · posterior sample (SD1/SD2: 0.18215; not visible in shapes).
  double scale_factor = 0.18215;

  /// Overrides the fields `json` names, starting from `base`. Accepts CompVis layouts
  /// ({ddconfig: {ch, ch_mult, num_res_blocks, z_channels, double_z, in_channels, out_ch,
  /// attn_resolutions, resolution}, embed_dim, scale_factor}, or the ddconfig fields at top level)
  /// and diffusers' AutoencoderKL config.json (block_out_channels, layers_per_block,
  /// latent_channels, in_channels, out_channels, norm_num_groups, scaling_factor).
  /// Throws std::invalid_argument naming a malformed field.
  static VaeConfig from_json(const nlohmann::json& json, VaeConfig base);
  /// from_json over the defaults.
  static VaeConfig from_json(const nlohmann::json& json);
  /// The config in CompVis names, readable by from_json.
  nlohmann::json to_json() const;

  bool operator==(const VaeConfig&) const = default;
};

/// Detects the configuration from CompVis-named tensor shapes (prefix removed). norm_groups
/// and scale_factor keep their defaults. Throws std::invalid_argument when the keys are not an
/// AutoencoderKL.
VaeConfig detect_vae_config(const ShapeMap& shapes);

/// Keys under the VAE prefix that inference does not use (the training loss' discriminator and
/// LPIPS weights, `loss.*`).
LoadWeightsOptions vae_weight_options();

/// norm1 → swish → conv1 → norm2 → swish → conv2, plus a 1×1 nin_shortcut when channels change.
class VaeResnetBlockImpl : public torch::nn::Module {
 public:
  VaeResnetBlockImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t groups,
                     const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

  GroupNorm norm1{nullptr}, norm2{nullptr};
  Conv2d conv1{nullptr}, conv2{nullptr}, nin_shortcut{nullptr};
};
TORCH_MODULE(VaeResnetBlock);

/// Single-head self-attention over all positions, q/k/v/proj_out as 1×1 convolutions, residual.
class VaeAttnBlockImpl : public torch::nn::Module {
 public:
  VaeAttnBlockImpl(std::int64_t channels, std::int64_t groups, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

  GroupNorm norm{nullptr};
  Conv2d q{nullptr}, k{nullptr}, v{nullptr}, proj_out{nullptr};
};
TORCH_MODULE(VaeAttnBlock);

/// Zero-pad right and bottom by one, then a stride-2 3×3 convolution without padding.
class VaeDownsampleImpl : public torch::nn::Module {
 public:
  VaeDownsampleImpl(std::int64_t channels, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  Conv2d conv{nullptr};
};
TORCH_MODULE(VaeDownsample);

/// Nearest-neighbour ×2, then a 3×3 convolution.
class VaeUpsampleImpl : public torch::nn::Module {
 public:
  VaeUpsampleImpl(std::int64_t channels, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  Conv2d conv{nullptr};
};
TORCH_MODULE(VaeUpsample);

/// One resolution level: `block.j` (+ `attn.j`) and the optional down/upsample.
class VaeLevelImpl : public torch::nn::Module {
 public:
  VaeLevelImpl() = default;
  torch::Tensor forward(torch::Tensor x);

  torch::nn::ModuleList block{nullptr}, attn{nullptr};  // attn null when the level has none
  VaeDownsample downsample{nullptr};
  VaeUpsample upsample{nullptr};
};
TORCH_MODULE(VaeLevel);

/// block_1 → attn_1 → block_2 at the lowest resolution.
class VaeMidImpl : public torch::nn::Module {
 public:
  VaeMidImpl(std::int64_t channels, std::int64_t groups, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

  VaeResnetBlock block_1{nullptr}, block_2{nullptr};
  VaeAttnBlock attn_1{nullptr};
};
TORCH_MODULE(VaeMid);

/// image → 2·z_channels moments (or z_channels without double_z).
class VaeEncoderImpl : public torch::nn::Module {
 public:
  VaeEncoderImpl(const VaeConfig& config, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

  Conv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList down{nullptr};  // VaeLevel per level
  VaeMid mid{nullptr};
  GroupNorm norm_out{nullptr};
};
TORCH_MODULE(VaeEncoder);

/// z_channels latent → image; `up` is indexed by level and run from the highest index down.
class VaeDecoderImpl : public torch::nn::Module {
 public:
  VaeDecoderImpl(const VaeConfig& config, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& z);

  Conv2d conv_in{nullptr}, conv_out{nullptr};
  VaeMid mid{nullptr};
  torch::nn::ModuleList up{nullptr};  // VaeLevel per level
  GroupNorm norm_out{nullptr};
};
TORCH_MODULE(VaeDecoder);

/// The encoder's posterior: a diagonal Gaussian per latent element.
struct DiagonalGaussian {
  torch::Tensor mean;    ///< [B,embed_dim,h,w]
  torch::Tensor logvar;  ///< clamped to [-30, 20]

  torch::Tensor std() const;
  /// mean + std · noise (noise shaped like mean, e.g. from a seeded generator).
  torch::Tensor sample(const torch::Tensor& noise) const;
};

/// The KL autoencoder.
class AutoencoderKLImpl : public torch::nn::Module {
 public:
  AutoencoderKLImpl(const VaeConfig& config, const torch::TensorOptions& options);

  /// quant_conv(encoder(image)) for image [B,in,H,W] in [-1,1], H and W multiples of
  /// 2^(levels−1): [B,2·embed_dim,h,w] (mean channels first, then raw logvar).
  torch::Tensor encode_moments(const torch::Tensor& image);
  /// The posterior of encode_moments (needs double_z).
  DiagonalGaussian encode(const torch::Tensor& image);
  /// decoder(post_quant_conv(z)): the raw decoder output, not clamped. z is NOT scaled here
  /// (divide a diffusion latent by config.scale_factor first).
  torch::Tensor decode(const torch::Tensor& z);

  VaeConfig config;
  VaeEncoder encoder{nullptr};
  VaeDecoder decoder{nullptr};
  Conv2d quant_conv{nullptr}, post_quant_conv{nullptr};
};
TORCH_MODULE(AutoencoderKL);

}  // namespace diffgraph::models
