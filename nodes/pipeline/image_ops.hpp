/// @file pipeline/image_ops.hpp
/// Pixel operations shared by the image, mask and latent nodes: ComfyUI's resize methods
/// (interpolate modes, Lanczos, bislerp), its centre crop, and grey-scale morphology for masks.
/// Everything works on float tensors on any device; nothing here knows about nodes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <torch/types.h>

namespace diffgraph::nodes {

/// The largest width or height a node accepts (ComfyUI's MAX_RESOLUTION).
inline constexpr std::int64_t kMaxResolution = 16384;

/// ImageScale's upscale_method options, in ComfyUI's order.
const std::vector<std::string>& image_upscale_methods();
/// LatentUpscale's upscale_method options, in ComfyUI's order.
const std::vector<std::string>& latent_upscale_methods();
/// The crop options of both scale nodes.
const std::vector<std::string>& crop_methods();

/// Resizes `nchw` [N, C, H, W] to `height` × `width` as ComfyUI's common_upscale does: with
/// crop "center" it first cuts the middle part whose aspect ratio matches the target, then
/// resizes with `method`: "nearest-exact", "bilinear", "area", "bicubic" (torch's interpolate,
/// align_corners off), "lanczos" or "bislerp". Throws NodeError for an unknown method.
torch::Tensor common_upscale(const torch::Tensor& nchw, std::int64_t width, std::int64_t height,
                             std::string_view method, std::string_view crop);

/// Lanczos (a = 3) resampling with the kernel widened when downscaling so it also filters out
/// aliasing, the way PIL's Image.resize(LANCZOS) works, but in float (no 8-bit rounding).
/// The result may overshoot the input's range a little, as any Lanczos filter does.
torch::Tensor resize_lanczos(const torch::Tensor& nchw, std::int64_t width, std::int64_t height);

/// Bilinear resize that interpolates each pixel's channel vector by spherical interpolation
/// (direction slerped, length lerped) instead of per channel: ComfyUI's "bislerp", which keeps
/// latent vectors at a plausible norm.
torch::Tensor resize_bislerp(const torch::Tensor& nchw, std::int64_t width, std::int64_t height);

/// Grey-scale dilation (`steps` > 0) or erosion (`steps` < 0) of masks [B, H, W], repeated
/// |steps| times with a 3×3 structuring element: a plus shape when `tapered_corners`, else the
/// full square. Pixels outside the mask repeat the edge (scipy.ndimage's default "reflect"
/// mode, which is the same thing for a 3×3 element), as ComfyUI's GrowMask.
torch::Tensor grow_mask(const torch::Tensor& masks, std::int64_t steps, bool tapered_corners);

}  // namespace diffgraph::nodes
