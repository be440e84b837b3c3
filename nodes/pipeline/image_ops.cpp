#include "image_ops.hpp"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>
#include <torch/version.h>

#include <diffgraph/errors.hpp>

namespace diffgraph::nodes {

namespace F = torch::nn::functional;

const std::vector<std::string>& image_upscale_methods() {
  static const std::vector<std::string> methods{"nearest-exact", "bilinear", "area", "bicubic", "lanczos"};
  return methods;
}

const std::vector<std::string>& latent_upscale_methods() {
  static const std::vector<std::string> methods{"nearest-exact", "bilinear", "area", "bicubic", "bislerp"};
  return methods;
}

const std::vector<std::string>& crop_methods() {
  static const std::vector<std::string> methods{"disabled", "center"};
  return methods;
}

namespace {

torch::Tensor interpolate(const torch::Tensor& x, std::int64_t width, std::int64_t height, std::string_view method) {
  auto options = F::InterpolateFuncOptions().size(std::vector<std::int64_t>{height, width});
  if (method == "nearest-exact") {
    options.mode(torch::kNearestExact);
#if TORCH_VERSION_MAJOR < 2
    // LibTorch 1.x warns on every call unless align_corners is given (nearest-exact ignores it);
    // 2.x rejects it for this mode.
    options.align_corners(false);
#endif
  }
  else if (method == "bilinear") options.mode(torch::kBilinear).align_corners(false);
  else if (method == "area") options.mode(torch::kArea);
  else if (method == "bicubic") options.mode(torch::kBicubic).align_corners(false);
  else throw NodeError("unknown upscale_method '" + std::string(method) + "'");
  return F::interpolate(x, options);
}

// Python's round(): halves go to the even neighbour (the default floating-point rounding mode).
std::int64_t round_half_even(double value) { return static_cast<std::int64_t>(std::nearbyint(value)); }

}  // namespace

torch::Tensor common_upscale(const torch::Tensor& nchw, std::int64_t width, std::int64_t height,
                             std::string_view method, std::string_view crop) {
  if (width < 1 || height < 1)
    throw NodeError("cannot resize to " + std::to_string(width) + "x" + std::to_string(height));
  torch::Tensor source = nchw;
  if (crop == "center") {
    const std::int64_t old_width = nchw.size(-1), old_height = nchw.size(-2);
    const double old_aspect = static_cast<double>(old_width) / static_cast<double>(old_height);
    const double new_aspect = static_cast<double>(width) / static_cast<double>(height);
    std::int64_t x = 0, y = 0;
    if (old_aspect > new_aspect)
      x = round_half_even((old_width - old_width * (new_aspect / old_aspect)) / 2.0);
    else if (old_aspect < new_aspect)
      y = round_half_even((old_height - old_height * (old_aspect / new_aspect)) / 2.0);
    source = nchw.narrow(-2, y, std::max<std::int64_t>(1, old_height - 2 * y))
                 .narrow(-1, x, std::max<std::int64_t>(1, old_width - 2 * x));
  } else if (crop != "disabled") {
    throw NodeError("unknown crop '" + std::string(crop) + "' (choose disabled or center)");
  }
  if (method == "lanczos") return resize_lanczos(source, width, height);
  if (method == "bislerp") return resize_bislerp(source, width, height);
  return interpolate(source, width, height, method);
}

// --- Lanczos --------------------------------------------------------------------------------

namespace {

double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= M_PI;
  return std::sin(x) / x;
}

double lanczos3(double x) { return x > -3.0 && x < 3.0 ? sinc(x) * sinc(x / 3.0) : 0.0; }

// One axis of a separable resampling: output i reads input index[i][k] with weight[i][k] (unused
// taps have weight 0). Scaled like PIL: when shrinking, the kernel widens by the shrink factor.
struct Taps {
  torch::Tensor index;   // int64 [taps, out]
  torch::Tensor weight;  // float [taps, out]
};

Taps lanczos_taps(std::int64_t in_size, std::int64_t out_size) {
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double filter_scale = std::max(scale, 1.0);
  const double support = 3.0 * filter_scale;
  const std::int64_t taps = static_cast<std::int64_t>(std::ceil(support)) * 2 + 1;
  std::vector<std::int64_t> index(static_cast<std::size_t>(taps * out_size), 0);
  std::vector<float> weight(static_cast<std::size_t>(taps * out_size), 0.0f);
  std::vector<double> w(static_cast<std::size_t>(taps));
  for (std::int64_t i = 0; i < out_size; ++i) {
    const double center = (static_cast<double>(i) + 0.5) * scale;
    const std::int64_t first = std::max<std::int64_t>(0, static_cast<std::int64_t>(center - support + 0.5));
    const std::int64_t last = std::min<std::int64_t>(in_size, static_cast<std::int64_t>(center + support + 0.5));
    const std::int64_t count = std::min(last - first, taps);
    double total = 0.0;
    for (std::int64_t k = 0; k < count; ++k) {
      w[k] = lanczos3((static_cast<double>(first + k) - center + 0.5) / filter_scale);
      total += w[k];
    }
    for (std::int64_t k = 0; k < count; ++k) {
      index[k * out_size + i] = first + k;
      weight[k * out_size + i] = static_cast<float>(total != 0.0 ? w[k] / total : w[k]);
    }
  }
  return {torch::tensor(index, torch::kLong).view({taps, out_size}),
          torch::tensor(weight, torch::kFloat).view({taps, out_size})};
}

// Resamples dimension `dim` (-1 or -2) of x to out_size: a weighted sum of gathered slices, one
// per tap, so the cost is proportional to the output times the kernel width.
torch::Tensor resample_axis(const torch::Tensor& x, std::int64_t dim, std::int64_t out_size) {
  const std::int64_t in_size = x.size(dim);
  if (in_size == out_size) return x;
  Taps taps = lanczos_taps(in_size, out_size);
  taps.index = taps.index.to(x.device());
  taps.weight = taps.weight.to(x.device(), x.scalar_type());
  torch::Tensor out;
  for (std::int64_t k = 0; k < taps.index.size(0); ++k) {
    torch::Tensor w = taps.weight[k];
    if (dim == -2) w = w.unsqueeze(-1);
    torch::Tensor term = x.index_select(dim, taps.index[k]).mul_(w);
    out = out.defined() ? out.add_(term) : term;
  }
  return out;
}

}  // namespace

torch::Tensor resize_lanczos(const torch::Tensor& nchw, std::int64_t width, std::int64_t height) {
  // Width first, then height, as PIL does.
  return resample_axis(resample_axis(nchw.to(torch::kFloat), -1, width), -2, height);
}

// --- bislerp --------------------------------------------------------------------------------

namespace {

// Slerps rows of b1 [M, C] towards b2 by r [M, 1]; lengths are interpolated linearly. Nearly
// parallel rows keep b1, nearly opposite ones fall back to a linear mix (as ComfyUI).
torch::Tensor slerp_rows(const torch::Tensor& b1, const torch::Tensor& b2, const torch::Tensor& r) {
  const torch::Tensor norm1 = b1.norm(2, {-1}, true), norm2 = b2.norm(2, {-1}, true);
  const torch::Tensor zero = torch::zeros({}, b1.options());
  const torch::Tensor unit1 = torch::where(norm1 == 0, zero, b1 / norm1);
  const torch::Tensor unit2 = torch::where(norm2 == 0, zero, b2 / norm2);
  const torch::Tensor dot = (unit1 * unit2).sum(1);
  const torch::Tensor omega = dot.acos();
  const torch::Tensor sin_omega = omega.sin();
  const torch::Tensor ratio = r.squeeze(1);
  torch::Tensor result = (((1.0 - ratio) * omega).sin() / sin_omega).unsqueeze(1) * unit1 +
                         ((ratio * omega).sin() / sin_omega).unsqueeze(1) * unit2;
  result = result * (norm1 * (1.0 - r) + norm2 * r);
  result = torch::where((dot > 1 - 1e-5).unsqueeze(1), b1, result);
  result = torch::where((dot < 1e-5 - 1).unsqueeze(1), b1 * (1.0 - r) + b2 * r, result);
  return result;
}

// For each of new_length outputs: the two source indices a bilinear resize (align_corners off)
// blends and the weight of the second. Computed by resizing index ramps, exactly as ComfyUI does.
struct BilinearData {
  torch::Tensor ratios, first, second;  // [new_length]
};

BilinearData bilinear_data(std::int64_t old_length, std::int64_t new_length, const torch::Device& device) {
  auto resize = [&](const torch::Tensor& ramp) {
    return F::interpolate(ramp.view({1, 1, 1, -1}), F::InterpolateFuncOptions()
                                                        .size(std::vector<std::int64_t>{1, new_length})
                                                        .mode(torch::kBilinear)
                                                        .align_corners(false))
        .view({-1});
  };
  const auto options = torch::TensorOptions().dtype(torch::kFloat).device(device);
  torch::Tensor coords = resize(torch::arange(old_length, options));
  BilinearData data;
  data.ratios = coords - coords.floor();
  data.first = coords.to(torch::kLong);
  torch::Tensor next = torch::arange(old_length, options) + 1;
  next[-1] -= 1;
  data.second = resize(next).to(torch::kLong);
  return data;
}

}  // namespace

torch::Tensor resize_bislerp(const torch::Tensor& nchw, std::int64_t width, std::int64_t height) {
  const torch::Tensor samples = nchw.to(torch::kFloat);
  const std::int64_t n = samples.size(0), c = samples.size(1), h = samples.size(2), w = samples.size(3);

  // Along the width.
  BilinearData along_w = bilinear_data(w, width, samples.device());
  torch::Tensor first = along_w.first.view({1, 1, 1, -1}).expand({n, c, h, -1});
  torch::Tensor second = along_w.second.view({1, 1, 1, -1}).expand({n, c, h, -1});
  torch::Tensor ratios = along_w.ratios.view({1, 1, 1, -1}).expand({n, 1, h, -1});
  torch::Tensor result = slerp_rows(samples.gather(-1, first).movedim(1, -1).reshape({-1, c}),
                                    samples.gather(-1, second).movedim(1, -1).reshape({-1, c}),
                                    ratios.movedim(1, -1).reshape({-1, 1}));
  result = result.reshape({n, h, width, c}).movedim(-1, 1);

  // Along the height.
  BilinearData along_h = bilinear_data(h, height, samples.device());
  first = along_h.first.view({1, 1, -1, 1}).expand({n, c, -1, width});
  second = along_h.second.view({1, 1, -1, 1}).expand({n, c, -1, width});
  ratios = along_h.ratios.view({1, 1, -1, 1}).expand({n, 1, -1, width});
  result = slerp_rows(result.gather(-2, first).movedim(1, -1).reshape({-1, c}),
                      result.gather(-2, second).movedim(1, -1).reshape({-1, c}),
                      ratios.movedim(1, -1).reshape({-1, 1}));
  return result.reshape({n, height, width, c}).movedim(-1, 1).contiguous();
}

// --- mask morphology ------------------------------------------------------------------------

torch::Tensor grow_mask(const torch::Tensor& masks, std::int64_t steps, bool tapered_corners) {
  if (steps == 0 || masks.numel() == 0) return masks;
  const std::int64_t height = masks.size(-2), width = masks.size(-1);
  // Erosion is dilation of the negated mask. max_pool2d pads with -inf, so pixels outside the
  // mask never win: the same as repeating the edge for a 3×3 element.
  torch::Tensor x = masks.unsqueeze(1);
  if (steps < 0) x = -x;
  auto pool = [](const torch::Tensor& t, std::int64_t kh, std::int64_t kw) {
    return F::max_pool2d(t, F::MaxPool2dFuncOptions({kh, kw}).stride(1).padding({kh / 2, kw / 2}));
  };
  const std::int64_t n = std::abs(steps);
  if (!tapered_corners) {
    // n dilations by a 3×3 square are one by a (2n+1)² square, and a square is separable.
    // Beyond the mask's size more steps change nothing.
    const std::int64_t reach = std::min(n, std::max(height, width));
    x = pool(pool(x, 1, 2 * reach + 1), 2 * reach + 1, 1);
  } else {
    // The plus shape is the union of a horizontal and a vertical 3-pixel bar. n steps reach
    // a diamond of radius n, which covers the whole mask after height + width steps.
    const std::int64_t reach = std::min(n, height + width);
    for (std::int64_t i = 0; i < reach; ++i) x = torch::max(pool(x, 1, 3), pool(x, 3, 1));
  }
  if (steps < 0) x = -x;
  return x.squeeze(1);
}

}  // namespace diffgraph::nodes
