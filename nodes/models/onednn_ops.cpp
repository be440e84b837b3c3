#include "onednn_ops.hpp"

#include <vector>

#include <ATen/ATen.h>
#include <ATen/Config.h>
#include <ATen/core/grad_mode.h>

namespace diffgraph::models {

bool onednn_usable(const torch::Tensor& x) {
#if AT_MKLDNN_ENABLED()
  return x.device().is_cpu() && x.scalar_type() == at::kFloat && !x.is_mkldnn() && at::hasMKLDNN() &&
         at::globalContext().userEnabledMkldnn();
#else
  (void)x;
  return false;
#endif
}

torch::Tensor OneDnnWeightCache::get(const torch::Tensor& weight, std::int64_t stride, std::int64_t padding) {
  if (!onednn_usable(weight) || (weight.requires_grad() && at::GradMode::is_enabled())) return {};
  const std::int64_t version = weight.is_inference() ? 0 : static_cast<std::int64_t>(weight._version());
  std::lock_guard<std::mutex> lock(mutex_);
  if (!enabled_) return {};
  if (!packed_.defined() || source_ != weight.data_ptr() || version_ != version) {
    const torch::Tensor filter =
        (weight.dim() == 4 ? weight : weight.view({weight.size(0), weight.size(1), 1, 1})).contiguous();
    packed_ = at::mkldnn_reorder_conv2d_weight(filter.to_mkldnn(), {padding, padding}, {stride, stride}, {1, 1}, 1);
    source_ = weight.data_ptr();
    version_ = version;
  }
  return packed_;
}

void OneDnnWeightCache::set_enabled(bool enabled) {
  std::lock_guard<std::mutex> lock(mutex_);
  enabled_ = enabled;
  if (!enabled) {
    packed_ = torch::Tensor();
    source_ = nullptr;
    version_ = -1;
  }
}

bool OneDnnWeightCache::holds_packed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return packed_.defined();
}

void OneDnnWeightCache::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  packed_ = torch::Tensor();
  source_ = nullptr;
  version_ = -1;
}

torch::Tensor onednn_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                            OneDnnWeightCache* cache) {
  const std::int64_t in = x.size(-1), out = weight.size(0);
  if (!onednn_usable(x) || x.numel() == 0) return at::linear(x, weight.dim() == 2 ? weight : weight.flatten(1), bias);
  torch::Tensor rows = x.reshape({-1, in});
  if (rows.stride(1) != 1 || rows.stride(0) != in) rows = rows.contiguous();
  const std::int64_t count = rows.size(0);
  // Rows as pixels of a channels-last image: pixel t's channels are row t.
  const torch::Tensor image = rows.as_strided({1, in, 1, count}, {count * in, 1, count * in, in});
  torch::Tensor filter = cache && count <= kPackedLinearMaxRows ? cache->get(weight, 1, 0) : torch::Tensor();
  if (!filter.defined()) filter = (weight.dim() == 4 ? weight : weight.view({out, in, 1, 1})).contiguous();
  const torch::Tensor result =
      at::mkldnn_convolution(image, filter, bias.defined() ? c10::optional<torch::Tensor>(bias) : c10::nullopt,
                             /*padding=*/{0, 0}, /*stride=*/{1, 1}, /*dilation=*/{1, 1}, /*groups=*/1);
  // The channels-last result [1, out, 1, T] is the row-major matrix [T, out].
  std::vector<std::int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.back() = out;
  return result.permute({0, 2, 3, 1}).reshape(shape);
}

torch::Tensor onednn_conv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                            std::int64_t stride, std::int64_t padding, OneDnnWeightCache* cache) {
  if (!onednn_usable(x) || x.dim() != 4 || x.numel() == 0)
    return at::conv2d(x, weight, bias, {stride, stride}, {padding, padding});
  const auto format = x.suggest_memory_format();
  const auto output_side = [&](std::int64_t side) { return (side + 2 * padding - weight.size(-1)) / stride + 1; };
  const std::int64_t pixels = x.size(0) * output_side(x.size(2)) * output_side(x.size(3));
  torch::Tensor filter =
      cache && pixels <= kPackedConvMaxPixels ? cache->get(weight, stride, padding) : torch::Tensor();
  if (!filter.defined()) filter = weight.contiguous(format);
  return at::mkldnn_convolution(x.contiguous(format), filter,
                                bias.defined() ? c10::optional<torch::Tensor>(bias) : c10::nullopt, {padding, padding},
                                {stride, stride}, /*dilation=*/{1, 1}, /*groups=*/1);
}

}  // namespace diffgraph::models
