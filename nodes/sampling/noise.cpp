// noise.cpp — seeded generators, the initial noise, the ancestral sequence and the Brownian tree.
#include "noise.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>

namespace diffgraph::sampling {
namespace {

/// SplitMix64's finaliser: turns structured keys (seed, depth, index) into well-mixed seeds.
std::uint64_t mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

torch::Tensor randn_from(at::Generator& generator, at::IntArrayRef shape) {
  // at::randn locks the generator itself; float32 directly, never float64 then cast (§9).
  return at::randn(shape, generator, at::TensorOptions().dtype(at::kFloat));
}

}  // namespace

std::uint64_t seed_from_int64(std::int64_t seed) { return static_cast<std::uint64_t>(seed); }

std::uint64_t parse_seed(std::string_view text) {
  const auto fail = [&] {
    return std::invalid_argument("seed '" + std::string(text) +
                                 "' is not an integer in [-9223372036854775808, 18446744073709551615]");
  };
  if (text.empty()) throw fail();
  bool negative = false;
  std::size_t pos = 0;
  if (text[0] == '-' || text[0] == '+') {
    negative = text[0] == '-';
    pos = 1;
  }
  if (pos == text.size()) throw fail();
  std::uint64_t magnitude = 0;
  for (; pos < text.size(); ++pos) {
    const char ch = text[pos];
    if (ch < '0' || ch > '9') throw fail();
    const auto digit = static_cast<std::uint64_t>(ch - '0');
    if (magnitude > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) throw fail();
    magnitude = magnitude * 10 + digit;
  }
  if (!negative) return magnitude;
  constexpr std::uint64_t min_magnitude = std::uint64_t{1} << 63;  // |-2^63|
  if (magnitude > min_magnitude) throw fail();
  return ~magnitude + 1;  // two's complement of the magnitude = magnitude subtracted from 2^64
}

at::Generator make_cpu_generator(std::uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

torch::Tensor initial_noise(std::uint64_t seed, at::IntArrayRef shape) {
  auto generator = make_cpu_generator(seed);
  return randn_from(generator, shape);
}

struct NoiseSequence::Stream {
  at::Generator generator;
  std::vector<std::int64_t> shape;
  std::int64_t draws = 0;
  std::mutex mutex;
};

NoiseSequence::NoiseSequence(std::uint64_t seed, std::vector<std::int64_t> shape)
    : stream_(std::make_shared<Stream>()) {
  stream_->generator = make_cpu_generator(seed);
  stream_->shape = std::move(shape);
}

torch::Tensor NoiseSequence::next() const {
  std::lock_guard<std::mutex> lock(stream_->mutex);
  ++stream_->draws;
  return randn_from(stream_->generator, stream_->shape);
}

std::int64_t NoiseSequence::draws() const {
  std::lock_guard<std::mutex> lock(stream_->mutex);
  return stream_->draws;
}

NoiseSampler NoiseSequence::sampler() const {
  NoiseSequence self = *this;
  return [self](const torch::Tensor&, const torch::Tensor&) { return self.next(); };
}

BrownianTreeNoise::BrownianTreeNoise(std::uint64_t seed, std::vector<std::int64_t> shape, double t0,
                                     double t1, double tolerance)
    : seed_(seed), shape_(std::move(shape)), t0_(t0), t1_(t1), tolerance_(tolerance) {
  if (!(t0 < t1) || !std::isfinite(t0) || !std::isfinite(t1)) {
    throw std::invalid_argument("BrownianTreeNoise needs finite t0 < t1, got [" + std::to_string(t0) +
                                ", " + std::to_string(t1) + "]");
  }
  if (!(tolerance > 0.0)) throw std::invalid_argument("BrownianTreeNoise tolerance must be positive");
  // The root: W(t1) ~ N(0, t1 - t0). Key 0 is reserved for it; midpoints use keys >= 1.
  w1_ = gaussian(0) * static_cast<float>(std::sqrt(t1_ - t0_));
}

torch::Tensor BrownianTreeNoise::gaussian(std::uint64_t key) const {
  auto generator = make_cpu_generator(mix64(seed_ ^ mix64(key)));
  return randn_from(generator, shape_);
}

torch::Tensor BrownianTreeNoise::value(double t) const {
  t = std::min(std::max(t, t0_), t1_);
  double a = t0_;
  double b = t1_;
  auto wa = at::zeros(shape_, at::TensorOptions().dtype(at::kFloat));
  auto wb = w1_;
  if (t == a) return wa;
  if (t == b) return wb;
  // Node (depth, index): the midpoint of the index-th interval at that depth; its key is unique
  // for depth < 64 (index < 2^depth).
  std::uint64_t index = 0;
  for (int depth = 0; depth < 62; ++depth) {
    if (b - a <= tolerance_) break;
    const double mid = 0.5 * (a + b);
    const std::uint64_t key = (std::uint64_t{1} << depth) + index;  // heap numbering, >= 1
    // Brownian bridge: W(mid) | W(a), W(b) ~ N((W(a)+W(b))/2, (b-a)/4).
    auto wm = (wa + wb) * 0.5f + gaussian(key) * static_cast<float>(std::sqrt(0.25 * (b - a)));
    if (t == mid) return wm;
    if (t < mid) {
      b = mid;
      wb = std::move(wm);
      index = 2 * index;
    } else {
      a = mid;
      wa = std::move(wm);
      index = 2 * index + 1;
    }
  }
  // Below the tolerance the bridge's deviation from the chord is negligible.
  return wa + (wb - wa) * static_cast<float>((t - a) / (b - a));
}

torch::Tensor BrownianTreeNoise::operator()(const torch::Tensor& sigma, const torch::Tensor& sigma_next) const {
  const double from = sigma.item<double>();
  const double to = sigma_next.item<double>();
  if (from == to) return at::zeros(shape_, at::TensorOptions().dtype(at::kFloat));
  // BatchedBrownianTree sorts the pair and flips the sign back, so the result is W(to) - W(from).
  const auto increment = value(to) - value(from);
  return increment / static_cast<float>(std::sqrt(std::fabs(to - from)));
}

NoiseSampler BrownianTreeNoise::sampler() const {
  auto self = std::make_shared<const BrownianTreeNoise>(*this);
  return [self](const torch::Tensor& sigma, const torch::Tensor& sigma_next) {
    return (*self)(sigma, sigma_next);
  };
}

}  // namespace diffgraph::sampling
