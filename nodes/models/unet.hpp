// unet.hpp — the Stable Diffusion 1.x/2.x/XL denoising U-Net (CompVis / Stability-AI / sgm
// `openaimodel.UNetModel` with SpatialTransformer blocks), predicting eps from a noisy latent,
// a timestep and the conditioning (ModelInputs: context, SDXL's y vector, concat channels).
//
// The module tree mirrors the checkpoint keys under `model.diffusion_model.`:
//   time_embed.{0,2}                       Linear → SiLU → Linear
//   label_emb.0.{0,2}                       Linear → SiLU → Linear on y, added to time_embed (SDXL)
//   input_blocks.0.0                        conv_in (3×3)
//   input_blocks.N.0                        ResBlock, or Downsample (`op`, 3×3 stride 2)
//   input_blocks.N.1                        SpatialTransformer (levels with attention)
//   middle_block.{0,1,2}                    ResBlock, SpatialTransformer, ResBlock
//   output_blocks.N.{0,1,2}                 ResBlock (+ SpatialTransformer) (+ Upsample `conv`)
//   out.{0,2}                               GroupNorm → SiLU → conv_out (3×3)
// ResBlock: in_layers.{0,2}, emb_layers.1, out_layers.{0,3}, skip_connection (1×1, when the
// width changes). SpatialTransformer: norm, proj_in, transformer_blocks.K.{norm1,attn1,norm2,
// attn2,norm3,ff.net.0.proj,ff.net.2}, proj_out; attn: to_q, to_k, to_v, to_out.0.
// So a module's parameter path is its checkpoint key and loading is a lookup.
//
// Callers run forward() under torch::InferenceMode (or at least torch::NoGradGuard): several
// steps update activations in place. With grad mode on (training, tools/train) forward() uses
// out-of-place ops instead, so autograd can differentiate it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "layers.hpp"
#include "model_inputs.hpp"
#include "onednn_ops.hpp"
#include "safetensors.hpp"
#include "unet_config.hpp"
#include "weights.hpp"

namespace diffgraph::models {

/// Sinusoidal timestep embedding [B, dim] of t [B] (any integer or floating dtype; fractional
/// t is legal): half = dim/2, f_i = exp(−ln(10000)·i/half), emb = cat(cos(t·f), sin(t·f)) —
/// cos first — plus a zero column when dim is odd. Computed in float32.
torch::Tensor timestep_embedding(const torch::Tensor& t, std::int64_t dim);

/// ResBlock: in_layers (GN → SiLU → conv3×3), + emb_layers (SiLU → Linear) broadcast over
/// H×W, out_layers (GN → SiLU → [dropout] → conv3×3), plus the skip (identity or 1×1 conv).
class ResBlockImpl : public torch::nn::Module {
 public:
  ResBlockImpl(std::int64_t channels, std::int64_t emb_channels, std::int64_t out_channels, std::int64_t groups,
               const torch::TensorOptions& options);
  /// x [B,C,H,W], emb_silu = SiLU(time embedding) [B,E] (shared by every block) → [B,Cout,H,W].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& emb_silu);

  GroupNorm in_norm{nullptr};       // in_layers.0
  Conv2d in_conv{nullptr};          // in_layers.2
  Linear emb_linear{nullptr};       // emb_layers.1
  GroupNorm out_norm{nullptr};      // out_layers.0
  Conv2d out_conv{nullptr};         // out_layers.3
  Conv2d skip_connection{nullptr};  // only when the width changes
  OneDnnWeightCache in_conv_packed, emb_linear_packed, out_conv_packed, skip_packed;
  std::vector<OneDnnWeightCache*> weight_caches();
};
TORCH_MODULE(ResBlock);

/// Multi-head attention with bias-free q/k/v projections and a biased output projection;
/// self-attention when no context is given.
class CrossAttentionImpl : public torch::nn::Module {
 public:
  CrossAttentionImpl(std::int64_t query_dim, std::int64_t context_dim, std::int64_t heads, std::int64_t dim_head,
                     const torch::TensorOptions& options);
  /// x [B,N,query_dim], context [B,M,context_dim] or undefined (self) → [B,N,query_dim].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context = {});

  Linear to_q{nullptr}, to_k{nullptr}, to_v{nullptr};
  Linear to_out{nullptr};  // to_out.0 (to_out.1 is dropout)
  std::int64_t heads, dim_head;
  OneDnnWeightCache to_q_packed, to_k_packed, to_v_packed, to_out_packed;
  std::vector<OneDnnWeightCache*> weight_caches();
};
TORCH_MODULE(CrossAttention);

/// Self-attention, cross-attention and a GEGLU feed-forward, each pre-normed and residual.
class BasicTransformerBlockImpl : public torch::nn::Module {
 public:
  BasicTransformerBlockImpl(std::int64_t dim, std::int64_t heads, std::int64_t dim_head, std::int64_t context_dim,
                            const torch::TensorOptions& options);
  /// x [B,N,dim] → [B,N,dim].
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& context);

  CrossAttention attn1{nullptr}, attn2{nullptr};
  LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
  Linear ff_proj{nullptr};  // ff.net.0.proj: dim → 8·dim (value half, then gate half)
  Linear ff_out{nullptr};   // ff.net.2: 4·dim → dim
  OneDnnWeightCache ff_value_packed, ff_gate_packed, ff_out_packed;  // the two halves of ff_proj
  std::vector<OneDnnWeightCache*> weight_caches();
};
TORCH_MODULE(BasicTransformerBlock);

/// GN → proj_in → tokens [B,HW,C] → BasicTransformerBlock × depth → proj_out → + input.
class SpatialTransformerImpl : public torch::nn::Module {
 public:
  SpatialTransformerImpl(std::int64_t channels, std::int64_t heads, std::int64_t depth, std::int64_t context_dim,
                         bool linear_projection, std::int64_t groups, const torch::TensorOptions& options);
  /// x [B,C,H,W], context [B,M,context_dim] → [B,C,H,W].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context);

  GroupNorm norm{nullptr};
  /// proj_in/proj_out weights: [C,C] (linear) or [C,C,1,1] (conv); both are applied as one
  /// GEMM over the channel dimension.
  Linear proj_in_linear{nullptr}, proj_out_linear{nullptr};
  Conv2d proj_in_conv{nullptr}, proj_out_conv{nullptr};
  std::vector<BasicTransformerBlock> transformer_blocks;
  OneDnnWeightCache proj_in_packed, proj_out_packed;
  std::vector<OneDnnWeightCache*> weight_caches();
};
TORCH_MODULE(SpatialTransformer);

/// One entry of input_blocks / output_blocks / middle_block: the layers a CompVis
/// TimestepEmbedSequential holds, registered under their numeric names and run in this order:
/// conv (conv_in), ResBlock, SpatialTransformer, ResBlock (middle only), Downsample `op`,
/// Upsample (nearest ×2, then `conv`).
class UNetBlockImpl : public torch::nn::Module {
 public:
  UNetBlockImpl() = default;
  torch::Tensor forward(torch::Tensor h, const torch::Tensor& emb_silu, const torch::Tensor& context);

  Conv2d conv_in{nullptr};
  ResBlock res{nullptr};
  SpatialTransformer transformer{nullptr};
  ResBlock res2{nullptr};
  Conv2d downsample{nullptr};  // <index>.op
  Conv2d upsample{nullptr};    // <index>.conv
  OneDnnWeightCache conv_in_packed, downsample_packed, upsample_packed;
  std::vector<OneDnnWeightCache*> weight_caches();
};
TORCH_MODULE(UNetBlock);

/// Called with each block's output ("time_embed", "input_blocks.N", "middle_block",
/// "output_blocks.N") by UNetModelImpl::forward, for diagnostics.
using UNetObserver = std::function<void(const std::string& name, const torch::Tensor& value)>;

/// The denoising U-Net. Built with uninitialised parameters on `options`' device/dtype (the
/// meta device works), to be filled by load_weights.
class UNetModelImpl : public torch::nn::Module {
 public:
  UNetModelImpl(const UNetConfig& config, const torch::TensorOptions& options);

  /// x [B,C,H,W] (H, W multiples of 2^(levels−1)), timesteps [B] (integer or float, or one
  /// value for the batch) and the conditioning: inputs.context [B,M,context_dim], and
  /// inputs.concat [B,in−C,H,W] when the U-Net takes more input channels than x has (inpainting
  /// models), concatenated after x's channels, and inputs.y [B,adm_in_channels] when the U-Net has
  /// a label embedding (SDXL: emb = time_embed(t) + label_emb(y)), refused when it has none
  /// → eps [B,out,H,W]. Inputs are converted to the parameters' dtype/device. Throws
  /// std::invalid_argument naming the mismatched input.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& timesteps, const ModelInputs& inputs,
                        const UNetObserver& observer = {});
  /// The same for a text-only conditioning: forward(x, timesteps, {.context = context}).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& timesteps, const torch::Tensor& context,
                        const UNetObserver& observer = {});

  const UNetConfig& config() const { return config_; }

  /// With prepacking (the default), on CPU float32, outside training and for latents of at most
  /// 32×32, the weights of the convolutions and projections that run on small problems (the
  /// low-resolution levels; see kPackedConvMaxPixels, kPackedLinearMaxRows) are converted to
  /// oneDNN's blocked layout on first use and kept (OneDnnWeightCache) instead of being
  /// reordered on every call; there the reorder costs more than the arithmetic. Costs one extra
  /// copy of those weights (SD 1.5: +2.7 GiB, for a 32×32 step 1.2–1.4× faster). Larger latents
  /// leave them dense (their memory budget matters more than the ~10 % it would save there).
  /// Disabling drops the packed copies.
  void set_weight_prepacking(bool enabled);

  Linear time_embed_0{nullptr}, time_embed_2{nullptr};
  Linear label_emb_0{nullptr}, label_emb_2{nullptr};  // label_emb.0.{0,2}, when adm_in_channels > 0
  std::vector<UNetBlock> input_blocks;
  UNetBlock middle_block{nullptr};
  std::vector<UNetBlock> output_blocks;
  GroupNorm out_norm{nullptr};  // out.0
  Conv2d out_conv{nullptr};     // out.2
  OneDnnWeightCache time_embed_0_packed, time_embed_2_packed, label_emb_0_packed, label_emb_2_packed, out_conv_packed;

 private:
  UNetConfig config_;
};
TORCH_MODULE(UNetModel);

/// Builds a U-Net for the checkpoint tensors under `prefix` ("model.diffusion_model." for a
/// single-file SD checkpoint) and loads them: the config is detected from the shapes, then
/// `config_override` (a CompVis or diffusers config object, when given) is merged over it.
/// Weights are converted to `options`' dtype/device. Throws SafetensorsError listing
/// missing/unexpected/mismatched keys, std::invalid_argument for an unrecognisable layout.
UNetModel load_unet(const SafetensorsFile& file, std::string_view prefix,
                    const std::optional<nlohmann::json>& config_override, const torch::TensorOptions& options);

}  // namespace diffgraph::models
