// shape_classifier.cpp — reads a shapes picture back into scene attributes, for the evaluation.
//
// Decoded pictures are soft and slightly off-palette, so nothing here thresholds raw colours:
// the background is the median border colour, the shape colour the mean of the pixels farthest from
// it, and every pixel gets a coverage by projecting its colour onto the background→shape line.
// Coverage sums and centroids survive blur unchanged, which makes area (size) and centroid
// (position) robust; the kind is the silhouette of that area and centroid that best matches the
// coverage map.
#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <vector>

#include "shapes/shapes.hpp"

namespace diffgraph::shapes {
namespace {

struct Vec3 {
  float r = 0, g = 0, b = 0;
};
float distance(const Vec3& a, const Vec3& b) { return std::hypot(a.r - b.r, a.g - b.g, a.b - b.b); }
Vec3 at(std::span<const std::uint8_t> rgb, std::size_t p) {
  return {static_cast<float>(rgb[3 * p]), static_cast<float>(rgb[3 * p + 1]), static_cast<float>(rgb[3 * p + 2])};
}

float median(std::vector<float> v) {
  auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

// Per-channel median of the one-pixel frame: a shape touching the border cannot move it.
Vec3 border_colour(int side, std::span<const std::uint8_t> rgb) {
  std::vector<float> r, g, b;
  for (int j = 0; j < side; ++j)
    for (int i = 0; i < side; ++i)
      if (i == 0 || j == 0 || i == side - 1 || j == side - 1) {
        const Vec3 v = at(rgb, static_cast<std::size_t>(j) * side + i);
        r.push_back(v.r), g.push_back(v.g), b.push_back(v.b);
      }
  return {median(r), median(g), median(b)};
}

Colour nearest_colour_except(const Vec3& v, Colour excluded) {
  Colour best = excluded;
  float best_d = 1e30f;
  for (Colour c : kColours) {
    if (c == excluded) continue;
    const Rgb p = rgb(c);
    const float d = distance(v, {float(p.r), float(p.g), float(p.b)});
    if (d < best_d) best = c, best_d = d;
  }
  return best;
}

// Blur levels (pixels, at any side) the kind templates are tried at.
constexpr std::array kTemplateBlurs{0.0f, 1.0f, 2.0f};

// Separable Gaussian blur of a side×side map, edges clamped.
std::vector<float> gaussian_blur(const std::vector<float>& in, int side, float sigma) {
  const int reach = static_cast<int>(std::ceil(3 * sigma));
  std::vector<float> kernel(2 * reach + 1);
  float sum = 0;
  for (int i = -reach; i <= reach; ++i) sum += kernel[i + reach] = std::exp(-0.5f * i * i / (sigma * sigma));
  for (float& k : kernel) k /= sum;
  auto pass = [&](const std::vector<float>& src, int dx, int dy) {
    std::vector<float> dst(src.size());
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x) {
        float acc = 0;
        for (int i = -reach; i <= reach; ++i) {
          const int sx = std::clamp(x + i * dx, 0, side - 1), sy = std::clamp(y + i * dy, 0, side - 1);
          acc += kernel[i + reach] * src[static_cast<std::size_t>(sy) * side + sx];
        }
        dst[static_cast<std::size_t>(y) * side + x] = acc;
      }
    return dst;
  };
  return pass(pass(in, 1, 0), 0, 1);
}

}  // namespace

Classification classify(int side, std::span<const std::uint8_t> rgb) {
  if (side < 2) throw std::invalid_argument("shapes::classify: side must be >= 2, got " + std::to_string(side));
  const auto pixels = static_cast<std::size_t>(side) * static_cast<std::size_t>(side);
  if (rgb.size() != pixels * 3)
    throw std::invalid_argument("shapes::classify: the picture holds " + std::to_string(rgb.size()) + " bytes, a " +
                                std::to_string(side) + "x" + std::to_string(side) + " RGB picture has " +
                                std::to_string(pixels * 3));
  Classification out{};
  const Vec3 bg = border_colour(side, rgb);
  out.background = nearest_colour(bg.r, bg.g, bg.b);

  // The shape colour: the mean of the pixels at least 80% as far from the background as the 98th
  // percentile (which lies inside even a small shape: it covers 3.8% of the picture), so that
  // neither edge pixels nor a few outliers pull it.
  std::vector<float> dist(pixels);
  for (std::size_t p = 0; p < pixels; ++p) dist[p] = distance(at(rgb, p), bg);
  std::vector<float> sorted = dist;
  const auto rank = sorted.begin() + static_cast<std::ptrdiff_t>(pixels * 98 / 100);
  std::nth_element(sorted.begin(), rank, sorted.end());
  const float far = 0.8f * *rank;
  Vec3 fg;
  float n = 0;
  for (std::size_t p = 0; p < pixels; ++p)
    if (dist[p] >= far) {
      const Vec3 v = at(rgb, p);
      fg.r += v.r, fg.g += v.g, fg.b += v.b, n += 1;
    }
  fg = {fg.r / n, fg.g / n, fg.b / n};
  out.colour = nearest_colour_except(fg, out.background);

  // Coverage: the position along background→shape colour, with a soft dead zone at both ends so
  // noise on the background adds nothing (the ramp stays symmetric, so anti-aliased edges keep
  // their area).
  const Vec3 axis{fg.r - bg.r, fg.g - bg.g, fg.b - bg.b};
  const float axis2 = std::max(axis.r * axis.r + axis.g * axis.g + axis.b * axis.b, 1.0f);
  std::vector<float> coverage(pixels), projection(pixels);
  double area = 0, sx = 0, sy = 0;
  for (std::size_t p = 0; p < pixels; ++p) {
    const Vec3 v = at(rgb, p);
    const float t = ((v.r - bg.r) * axis.r + (v.g - bg.g) * axis.g + (v.b - bg.b) * axis.b) / axis2;
    projection[p] = t;
    coverage[p] = std::clamp((t - 0.1f) / 0.8f, 0.0f, 1.0f);
    area += coverage[p];
    sx += coverage[p] * (static_cast<double>(p % side) + 0.5);
    sy += coverage[p] * (static_cast<double>(p / side) + 0.5);
  }
  const double side2 = static_cast<double>(pixels);
  out.shape_area_fraction = static_cast<float>(area / side2);
  // Halfway (geometrically) between the small and the large shapes' areas.
  const double small_area = std::numbers::pi * std::pow(equal_area_radius(Size::small), 2);
  const double large_area = std::numbers::pi * std::pow(equal_area_radius(Size::large), 2);
  out.size = out.shape_area_fraction > std::sqrt(small_area * large_area) ? Size::large : Size::small;

  const float cx = area > 0 ? static_cast<float>(sx / area) : side / 2.0f;
  const float cy = area > 0 ? static_cast<float>(sy / area) : side / 2.0f;
  float best_d = 1e30f;
  for (Position p : kPositions) {
    const Point c = centre(p);
    const float d = std::hypot(cx / side - c.x, cy / side - c.y);
    if (d < best_d) out.position = p, best_d = d;
  }

  // The kind: the silhouette of the measured area, centred on the measured centroid, that best
  // explains the picture — least squares against the plain projection `t` (unclamped, so pixel
  // noise costs every kind the same), each silhouette also tried blurred, since a decoder's soft
  // square is closer to a soft square than to a crisp circle.
  const float radius = static_cast<float>(std::sqrt(std::max(area, 1.0) / std::numbers::pi));
  double best_error = 1e300;
  std::vector<float> silhouette(pixels);
  for (ShapeKind kind : kShapeKinds) {
    for (std::size_t p = 0; p < pixels; ++p) {
      const float x = static_cast<float>(p % side) + 0.5f - cx, y = static_cast<float>(p / side) + 0.5f - cy;
      silhouette[p] = std::clamp(0.5f - shape_distance(kind, radius, x, y), 0.0f, 1.0f);
    }
    for (float sigma : kTemplateBlurs) {
      const std::vector<float> blurred = sigma > 0 ? gaussian_blur(silhouette, side, sigma) : silhouette;
      double error = 0;
      for (std::size_t p = 0; p < pixels; ++p) error += (blurred[p] - projection[p]) * (blurred[p] - projection[p]);
      if (error < best_error) out.shape = kind, best_error = error;
    }
  }
  return out;
}

}  // namespace diffgraph::shapes
