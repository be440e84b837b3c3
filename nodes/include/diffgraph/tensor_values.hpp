/// @file tensor_values.hpp
/// The tensor-backed value types of the diffusion node library, for plugins that work on
/// images, masks and latents. Link `diffgraph::tensor_values` (it brings LibTorch).
///
/// Conventions (the same as ComfyUI, so node authors can port code directly):
/// - IMAGE: float32 [B, H, W, 3], values in [0, 1], on the CPU.
/// - MASK: float32 [B, H, W], values in [0, 1] (1 = selected / to repaint).
/// - LATENT: float32 [B, C, H/8, W/8], already multiplied by the VAE's scale factor, plus an
///   optional noise mask (MASK layout, any resolution) that restricts denoising to a region.
/// - CONDITIONING: one or more text encodings [1, tokens, width], each with an optional
///   pooled vector [1, width].
/// - SIGMAS: float32 [steps + 1], a noise-level schedule ending in 0.
/// - NOISE: a seed from which the initial noise of any latent shape is drawn.
/// Values are immutable: a node that changes a tensor clones it first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include <diffgraph/value.hpp>

namespace diffgraph {

/// Type names of the tensor values.
namespace tensor_types {
inline constexpr std::string_view kImage = "IMAGE";
inline constexpr std::string_view kMask = "MASK";
inline constexpr std::string_view kLatent = "LATENT";
inline constexpr std::string_view kConditioning = "CONDITIONING";
inline constexpr std::string_view kSigmas = "SIGMAS";
inline constexpr std::string_view kNoise = "NOISE";
}  // namespace tensor_types

/// IMAGE: float32 [B, H, W, 3] in [0, 1].
class ImageValue final : public Value {
 public:
  /// Checks the layout; throws NodeError describing a wrong shape or dtype.
  explicit ImageValue(torch::Tensor pixels);
  const torch::Tensor& pixels() const { return pixels_; }
  std::string_view type() const override;
  std::size_t byte_size() const override;
  std::string summary() const override;
  std::optional<PreviewImage> preview() const override;

 private:
  torch::Tensor pixels_;
};

/// MASK: float32 [B, H, W] in [0, 1].
class MaskValue final : public Value {
 public:
  explicit MaskValue(torch::Tensor mask);
  const torch::Tensor& mask() const { return mask_; }
  std::string_view type() const override;
  std::size_t byte_size() const override;
  std::string summary() const override;
  std::optional<PreviewImage> preview() const override;

 private:
  torch::Tensor mask_;
};

/// LATENT: float32 [B, C, h, w] plus an optional noise mask.
class LatentValue final : public Value {
 public:
  explicit LatentValue(torch::Tensor samples, std::optional<torch::Tensor> noise_mask = std::nullopt);
  const torch::Tensor& samples() const { return samples_; }
  const std::optional<torch::Tensor>& noise_mask() const { return noise_mask_; }
  std::string_view type() const override;
  std::size_t byte_size() const override;
  std::string summary() const override;
  std::optional<PreviewImage> preview() const override;

 private:
  torch::Tensor samples_;
  std::optional<torch::Tensor> noise_mask_;
};

/// One text encoding and its pooled vector (undefined when the encoder has none).
struct ConditioningEntry {
  torch::Tensor context;  ///< [1, tokens, width]
  torch::Tensor pooled;   ///< [1, width] or undefined
};

/// CONDITIONING: one or more encodings; several are averaged by the sampler (ConditioningCombine).
class ConditioningValue final : public Value {
 public:
  explicit ConditioningValue(std::vector<ConditioningEntry> entries);
  const std::vector<ConditioningEntry>& entries() const { return entries_; }
  std::string_view type() const override;
  std::size_t byte_size() const override;
  std::string summary() const override;

 private:
  std::vector<ConditioningEntry> entries_;
};

/// SIGMAS: float32 [n] noise levels.
class SigmasValue final : public Value {
 public:
  explicit SigmasValue(torch::Tensor sigmas);
  const torch::Tensor& sigmas() const { return sigmas_; }
  std::string_view type() const override;
  std::size_t byte_size() const override;
  std::string summary() const override;

 private:
  torch::Tensor sigmas_;
};

/// NOISE: the seed of the initial noise. The noise itself is drawn where all of diffgraph's
/// seeded noise is drawn, the diffusion library's sampling/noise.hpp (initial_noise: exactly
/// what ComfyUI draws for the same seed).
class NoiseValue final : public Value {
 public:
  explicit NoiseValue(std::uint64_t seed) : seed_(seed) {}
  std::uint64_t seed() const { return seed_; }
  std::string_view type() const override;
  std::size_t byte_size() const override { return sizeof(*this); }
  std::string summary() const override;

 private:
  std::uint64_t seed_;
};

/// An RGB picture of a latent through a fixed linear map of its first four channels (SD's
/// latent space), for previews while sampling. `latent` is [C, h, w].
PreviewImage latent_to_preview(const torch::Tensor& latent);
/// An IMAGE's first picture as a preview, downscaled so its longer side is at most `max_side`.
PreviewImage image_to_preview(const torch::Tensor& pixels, int max_side = 256);

}  // namespace diffgraph
