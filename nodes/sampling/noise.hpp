// noise.hpp — seeded CPU noise, drawn as ComfyUI draws it.
//
// ComfyUI makes the initial latent noise on the CPU, whatever the device, with
// `torch.randn(shape, generator=torch.manual_seed(seed))`: one draw of the whole batch shape, so
// the same seed gives the same picture on any machine (up to the AVX2/scalar rounding of torch's
// normal kernel, see fixtures README §9). Ancestral and SDE samplers need more noise during the
// run; NoiseSequence gives it from a fresh generator seeded with the same seed, one latent-shaped
// draw per step. (ComfyUI's own default noise sampler has changed over time: 2023 versions kept
// drawing from the global generator after the initial noise, current ones seed a fresh CPU
// generator with seed + 1. Pass that seed to reproduce a particular version.)
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include <ATen/core/Generator.h>
#include <torch/types.h>

namespace diffgraph::sampling {

/// Noise for the interval σ → σ_next of a sampler step: a standard-normal tensor of the sample's
/// shape (float32, CPU). Stateful samplers call it once or twice per step.
using NoiseSampler =
    std::function<torch::Tensor(const torch::Tensor& sigma, const torch::Tensor& sigma_next)>;

/// torch's seed convention: seeds are uint64, a negative int64 s means s + 2^64.
std::uint64_t seed_from_int64(std::int64_t seed);

/// A decimal seed string (from JSON, the command line) in [-2^63, 2^64-1], parsed without going
/// through a double (2^63-1 as a double would become 2^63). std::invalid_argument otherwise.
std::uint64_t parse_seed(std::string_view text);

/// A fresh CPU generator with torch.manual_seed(seed)'s stream (mt19937 keeps only the low 32 bits).
at::Generator make_cpu_generator(std::uint64_t seed);

/// ComfyUI's initial noise: one float32 randn of `shape` from a generator seeded with `seed`.
torch::Tensor initial_noise(std::uint64_t seed, at::IntArrayRef shape);

/// Successive latent-shaped draws from one generator seeded with `seed` (ancestral samplers).
/// Copies share the stream.
class NoiseSequence {
 public:
  NoiseSequence(std::uint64_t seed, std::vector<std::int64_t> shape);

  /// The next draw: float32 randn of the shape.
  torch::Tensor next() const;
  /// How many draws were taken so far.
  std::int64_t draws() const;
  /// A NoiseSampler that takes the next draw on every call (σ ignored), sharing this stream.
  NoiseSampler sampler() const;

 private:
  struct Stream;
  std::shared_ptr<Stream> stream_;
};

/// A seeded Brownian motion W on [t0, t1] (W(t0) = 0) that can be queried at any time in any
/// order and always gives the same path: the role of torchsde's BrownianTree behind ComfyUI's
/// dpmpp_sde / dpmpp_2m_sde. Values come from recursive bisection (Brownian bridge): each
/// midpoint's Gaussian is drawn from a generator seeded by (seed, depth, index), down to
/// `tolerance`, below which the bridge is interpolated linearly. Because queries for nearby times
/// share the tree, runs with different step counts see consistent noise, which is the point of the
/// tree. The numbers are not torchsde's (its tree uses its own PRNG splitting), so dpmpp_sde and
/// dpmpp_2m_sde with a seed give different images than ComfyUI, statistically equivalent ones.
class BrownianTreeNoise {
 public:
  BrownianTreeNoise(std::uint64_t seed, std::vector<std::int64_t> shape, double t0, double t1,
                    double tolerance = 1e-6);

  /// W(t) (float32, the shape), t clamped to [t0, t1].
  torch::Tensor value(double t) const;
  /// The normalised increment (W(σ_next) - W(σ)) / √|σ_next - σ| (zeros when σ_next == σ), with
  /// k-diffusion's BrownianTreeNoiseSampler sign convention.
  torch::Tensor operator()(const torch::Tensor& sigma, const torch::Tensor& sigma_next) const;
  /// This tree as a NoiseSampler.
  NoiseSampler sampler() const;

 private:
  torch::Tensor gaussian(std::uint64_t key) const;

  std::uint64_t seed_;
  std::vector<std::int64_t> shape_;
  double t0_;
  double t1_;
  double tolerance_;
  torch::Tensor w1_;  // W(t1)
};

}  // namespace diffgraph::sampling
