#include "sdxl_conditioning.hpp"

#include <stdexcept>
#include <string>

#include <torch/torch.h>

#include "unet.hpp"

namespace diffgraph::models {

namespace {

void require_rows(const torch::Tensor& t, std::int64_t rows, std::int64_t columns, const char* what) {
  if (!t.defined() || t.dim() != 2 || t.size(0) != rows || (columns > 0 && t.size(1) != columns))
    throw std::invalid_argument(std::string("SDXL conditioning: ") + what + " must be [" + std::to_string(rows) + ", " +
                                (columns > 0 ? std::to_string(columns) : std::string("width")) + "]");
}

}  // namespace

torch::Tensor embed_numbers(const torch::Tensor& values) {
  if (values.dim() != 2) throw std::invalid_argument("SDXL conditioning: the numbers to embed must be [B, d]");
  const std::int64_t rows = values.size(0), count = values.size(1);
  return timestep_embedding(values.reshape({-1}), kSdxlEmbeddingWidth).reshape({rows, count * kSdxlEmbeddingWidth});
}

torch::Tensor sdxl_base_y(const torch::Tensor& pooled, const torch::Tensor& original_size,
                          const torch::Tensor& crop_top_left, const torch::Tensor& target_size) {
  require_rows(pooled, pooled.defined() && pooled.dim() == 2 ? pooled.size(0) : 1, 0, "pooled");
  const std::int64_t rows = pooled.size(0);
  require_rows(original_size, rows, 2, "original_size (height, width)");
  require_rows(crop_top_left, rows, 2, "crop_top_left (top, left)");
  require_rows(target_size, rows, 2, "target_size (height, width)");
  return torch::cat({pooled.to(torch::kFloat32), embed_numbers(original_size), embed_numbers(crop_top_left),
                     embed_numbers(target_size)},
                    1);
}

torch::Tensor sdxl_refiner_y(const torch::Tensor& pooled, const torch::Tensor& original_size,
                             const torch::Tensor& crop_top_left, const torch::Tensor& aesthetic_score) {
  require_rows(pooled, pooled.defined() && pooled.dim() == 2 ? pooled.size(0) : 1, 0, "pooled");
  const std::int64_t rows = pooled.size(0);
  require_rows(original_size, rows, 2, "original_size (height, width)");
  require_rows(crop_top_left, rows, 2, "crop_top_left (top, left)");
  require_rows(aesthetic_score, rows, 1, "aesthetic_score");
  return torch::cat({pooled.to(torch::kFloat32), embed_numbers(original_size), embed_numbers(crop_top_left),
                     embed_numbers(aesthetic_score)},
                    1);
}

}  // namespace diffgraph::models
