#include "layers.hpp"

#include <torch/torch.h>

namespace diffgraph::models {

LinearImpl::LinearImpl(std::int64_t in_features, std::int64_t out_features, bool with_bias,
                       const torch::TensorOptions& options) {
  weight = register_parameter("weight", torch::empty({out_features, in_features}, options), false);
  if (with_bias) bias = register_parameter("bias", torch::empty({out_features}, options), false);
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) { return torch::linear(x, weight, bias); }

Conv2dImpl::Conv2dImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size,
                       std::int64_t stride_, std::int64_t padding_, const torch::TensorOptions& options)
    : stride(stride_), padding(padding_) {
  weight = register_parameter(
      "weight", torch::empty({out_channels, in_channels, kernel_size, kernel_size}, options), false);
  bias = register_parameter("bias", torch::empty({out_channels}, options), false);
}

torch::Tensor Conv2dImpl::forward(const torch::Tensor& x) {
  return torch::conv2d(x, weight, bias, {stride, stride}, {padding, padding});
}

GroupNormImpl::GroupNormImpl(std::int64_t groups_, std::int64_t channels, double eps_,
                             const torch::TensorOptions& options)
    : groups(groups_), eps(eps_) {
  weight = register_parameter("weight", torch::empty({channels}, options), false);
  bias = register_parameter("bias", torch::empty({channels}, options), false);
}

torch::Tensor GroupNormImpl::forward(const torch::Tensor& x) {
  return torch::group_norm(x, groups, weight, bias, eps);
}

LayerNormImpl::LayerNormImpl(std::int64_t dim_, double eps_, const torch::TensorOptions& options)
    : dim(dim_), eps(eps_) {
  weight = register_parameter("weight", torch::empty({dim}, options), false);
  bias = register_parameter("bias", torch::empty({dim}, options), false);
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor& x) {
  return torch::layer_norm(x, {dim}, weight, bias, eps);
}

EmbeddingImpl::EmbeddingImpl(std::int64_t count, std::int64_t dim, const torch::TensorOptions& options) {
  weight = register_parameter("weight", torch::empty({count, dim}, options), false);
}

torch::Tensor EmbeddingImpl::forward(const torch::Tensor& ids) { return torch::embedding(weight, ids); }

}  // namespace diffgraph::models
