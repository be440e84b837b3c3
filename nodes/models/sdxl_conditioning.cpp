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

namespace {

// pooled, E(original size), E(crop), E(last): the two models differ only in the last input.
torch::Tensor y_vector(const torch::Tensor& pooled, const torch::Tensor& original_size,
                       const torch::Tensor& crop_top_left, const torch::Tensor& last, std::int64_t last_columns,
                       const char* last_what) {
  require_rows(pooled, pooled.defined() && pooled.dim() == 2 ? pooled.size(0) : 1, 0, "pooled");
  const std::int64_t rows = pooled.size(0);
  require_rows(original_size, rows, 2, "original_size (height, width)");
  require_rows(crop_top_left, rows, 2, "crop_top_left (top, left)");
  require_rows(last, rows, last_columns, last_what);
  return torch::cat(
      {pooled.to(torch::kFloat32), embed_numbers(original_size), embed_numbers(crop_top_left), embed_numbers(last)}, 1);
}

}  // namespace

torch::Tensor sdxl_base_y(const torch::Tensor& pooled, const torch::Tensor& original_size,
                          const torch::Tensor& crop_top_left, const torch::Tensor& target_size) {
  return y_vector(pooled, original_size, crop_top_left, target_size, 2, "target_size (height, width)");
}

torch::Tensor sdxl_refiner_y(const torch::Tensor& pooled, const torch::Tensor& original_size,
                             const torch::Tensor& crop_top_left, const torch::Tensor& aesthetic_score) {
  return y_vector(pooled, original_size, crop_top_left, aesthetic_score, 1, "aesthetic_score");
}

}  // namespace diffgraph::models
