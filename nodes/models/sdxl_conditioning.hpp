// sdxl_conditioning.hpp — SDXL's vector conditioning `y`, the input of the U-Net's label_emb:
// the pooled text embedding followed by the size (or aesthetic) conditioning, each number
// embedded as sgm's ConcatTimestepEmbedderND(256) embeds it. Order = sgm's embedder order.
//   base    (2816 = 1280 + 6·256): pooled, original (h, w), crop (top, left), target (h, w)
//   refiner (2560 = 1280 + 5·256): pooled, original (h, w), crop (top, left), aesthetic score
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace diffgraph::models {

/// Width of one embedded number (sgm's outdim).
inline constexpr std::int64_t kSdxlEmbeddingWidth = 256;

/// ConcatTimestepEmbedderND: each of the d numbers of `values` [B, d] (any dtype, read as
/// float32) through timestep_embedding(·, 256), concatenated in order → float32 [B, d·256].
torch::Tensor embed_numbers(const torch::Tensor& values);

/// The base model's y: cat(pooled [B, P], E(original_size [B, 2] as h, w), E(crop_top_left
/// [B, 2]), E(target_size [B, 2])) → [B, P + 6·256]. Throws std::invalid_argument naming a
/// mis-shaped input.
torch::Tensor sdxl_base_y(const torch::Tensor& pooled, const torch::Tensor& original_size,
                          const torch::Tensor& crop_top_left, const torch::Tensor& target_size);

/// The refiner's y: cat(pooled, E(original_size), E(crop_top_left), E(aesthetic_score [B, 1]))
/// → [B, P + 5·256].
torch::Tensor sdxl_refiner_y(const torch::Tensor& pooled, const torch::Tensor& original_size,
                             const torch::Tensor& crop_top_left, const torch::Tensor& aesthetic_score);

}  // namespace diffgraph::models
