// layers.hpp — the few building blocks every model file uses, as torch::nn modules whose
// parameters are created with explicit TensorOptions (device and dtype).
//
// torch::nn's own Linear/Conv2d always allocate and initialise on the CPU in float32; these
// create uninitialised storage on any device, the meta device included, so the loader can
// build a full-size SD model without allocating gigabytes (the weights come from the
// checkpoint anyway). Parameter names (`weight`, `bias`) match PyTorch's, so a module path
// is a checkpoint key.
#pragma once

#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace diffgraph::models {

/// y = x·Wᵀ + b, weight [out, in].
class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(std::int64_t in_features, std::int64_t out_features, bool bias,
             const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;  // bias undefined when created without one
};
TORCH_MODULE(Linear);

/// 2-D convolution, weight [out, in, k, k], square kernel, symmetric padding.
class Conv2dImpl : public torch::nn::Module {
 public:
  Conv2dImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size,
             std::int64_t stride, std::int64_t padding, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
  std::int64_t stride, padding;
};
TORCH_MODULE(Conv2d);

/// GroupNorm with affine weight and bias [channels].
class GroupNormImpl : public torch::nn::Module {
 public:
  GroupNormImpl(std::int64_t groups, std::int64_t channels, double eps,
                const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
  std::int64_t groups;
  double eps;
};
TORCH_MODULE(GroupNorm);

/// LayerNorm over the last dimension with affine weight and bias [dim].
class LayerNormImpl : public torch::nn::Module {
 public:
  LayerNormImpl(std::int64_t dim, double eps, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;
  std::int64_t dim;
  double eps;
};
TORCH_MODULE(LayerNorm);

/// Lookup table, weight [count, dim].
class EmbeddingImpl : public torch::nn::Module {
 public:
  EmbeddingImpl(std::int64_t count, std::int64_t dim, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& ids);
  torch::Tensor weight;
};
TORCH_MODULE(Embedding);

}  // namespace diffgraph::models
