// onednn_ops.hpp — the U-Net's (and attention's) GEMMs and convolutions, routed so that all
// heavy CPU work runs on one thread pool.
//
// Why: LibTorch CPU builds that link OpenBLAS (Debian's, for one) run BLAS calls on OpenBLAS's
// own pthread pool, but convolutions (oneDNN) and every elementwise kernel on ATen's OpenMP
// pool. Each pool's threads spin for a while after their work ends, so alternating between
// the two makes them fight over the cores: on 2 cores an SD U-Net step measured 2× slower, and
// small models 30× slower when other processes share the cores. A Linear over rows [T, in] is
// exactly a 1×1 convolution over the channels-last image [1, in, 1, T], so sending GEMMs
// through oneDNN's convolution keeps everything on the OpenMP pool — and oneDNN's 1×1 kernels
// are as fast as a good GEMM. Calling oneDNN directly also skips ATen's size heuristics, which
// send small or single-image convolutions to an im2col + BLAS path.
//
// Every function falls back to the plain LibTorch op where oneDNN does not apply (GPU, other
// dtypes, builds without oneDNN, or when disabled with at::globalContext().setUserEnabledMkldnn).
#pragma once

#include <cstdint>
#include <mutex>

#include <torch/types.h>

namespace diffgraph::models {

/// A weight kept in oneDNN's blocked layout, so a convolution need not reorder it on every
/// call (that reorder reads and writes the whole weight: at the U-Net's low-resolution levels
/// it costs more than the arithmetic). Costs one extra copy of the weight's memory, so
/// onednn_linear / onednn_conv2d only ask for it on small problems (kPackedLinearMaxRows,
/// kPackedConvMaxPixels), where it pays. Repacks when the dense weight's storage or version
/// counter changes (load_weights' copy_ bumps it; in-place edits of inference tensors, which
/// have no counter, are not seen). Never packs a weight that autograd is training (its values
/// change every step and the gradient must reach the dense tensor). Thread-safe.
class OneDnnWeightCache {
 public:
  /// The packed form of conv weight [O,I,k,k] (or linear weight [O,I], as 1×1) for the given
  /// stride/padding; undefined when oneDNN does not apply to `weight`.
  torch::Tensor get(const torch::Tensor& weight, std::int64_t stride, std::int64_t padding);
  /// Drops the packed copy.
  void clear();
  /// Disabled, get() returns undefined (callers then pass the dense weight) and holds nothing.
  void set_enabled(bool enabled);
  /// Whether a packed copy is held now.
  bool holds_packed() const;

 private:
  mutable std::mutex mutex_;
  bool enabled_ = true;
  torch::Tensor packed_;
  const void* source_ = nullptr;
  std::int64_t version_ = -1;
};

/// The largest problems that use a packed weight. Measured on 2 cores (LibTorch 1.13, float32):
/// a linear over 32 rows runs 1.2× and over 128 rows up to 2.2× faster with its weight packed,
/// the same from ~150 rows, and 1.2–4× slower from 512 rows up (oneDNN then prefers another
/// layout than the one packed without the problem's size); a 3×3 convolution over 32 output
/// pixels (batch × height × width) runs 4.5× and over 128 pixels 2–2.4× faster, over 512 pixels
/// 1.0–1.3×. Limiting packing to small problems also limits its memory: for an SD 1.5 64×64
/// step only the 8×8 level's convolutions are packed.
inline constexpr std::int64_t kPackedLinearMaxRows = 256;
inline constexpr std::int64_t kPackedConvMaxPixels = 256;

/// Whether the oneDNN paths apply to `x`: a CPU float32 tensor, LibTorch built with oneDNN and
/// oneDNN not disabled by the user.
bool onednn_usable(const torch::Tensor& x);

/// x·Wᵀ + b over the last dimension: x [..., in] → [..., out], weight [out, in] (a Linear) or
/// [out, in, 1, 1] (a 1×1 convolution; contiguous), bias [out] or undefined. `x` may be a view
/// whose rows are strided (copied to dense rows first). The result is contiguous.
/// With `cache` and at most kPackedLinearMaxRows rows, the weight is packed once and reused (see
/// OneDnnWeightCache).
torch::Tensor onednn_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                            OneDnnWeightCache* cache = nullptr);

/// 2-D convolution of NCHW `x` with a square kernel, symmetric padding and stride (no groups or
/// dilation), bias [out] or undefined. The result has x's memory format. With `cache` and at most
/// kPackedConvMaxPixels output pixels, the weight is packed once and reused.
torch::Tensor onednn_conv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                            std::int64_t stride, std::int64_t padding, OneDnnWeightCache* cache = nullptr);

}  // namespace diffgraph::models
