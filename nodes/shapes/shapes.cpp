// shapes.cpp — scenes, captions and the anti-aliased renderer of the shapes data set.
#include "shapes/shapes.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numbers>
#include <optional>
#include <stdexcept>
#include <vector>

namespace diffgraph::shapes {

std::size_t uniform_index(std::mt19937_64& rng, std::size_t n) { return rng() % n; }
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

namespace {

void draw_jitter(Scene& s, std::mt19937_64& rng) {
  s.jitter_x = static_cast<float>((2 * uniform01(rng) - 1) * kJitter);
  s.jitter_y = static_cast<float>((2 * uniform01(rng) - 1) * kJitter);
}

struct ColourInfo {
  std::string_view name;
  Rgb rgb;
};
constexpr std::array<ColourInfo, kColours.size()> kColourInfo{{{"red", {220, 40, 40}},
                                                               {"yellow", {240, 220, 40}},
                                                               {"green", {40, 180, 60}},
                                                               {"cyan", {40, 210, 220}},
                                                               {"blue", {40, 70, 220}},
                                                               {"purple", {150, 50, 190}},
                                                               {"white", {245, 245, 245}},
                                                               {"black", {15, 15, 15}}}};
constexpr std::array<std::string_view, kShapeKinds.size()> kShapeNames{"circle", "square", "triangle",
                                                                       "cross"};
constexpr std::array<std::string_view, kSizes.size()> kSizeNames{"small", "large"};

struct PositionInfo {
  std::string_view phrase;
  Point centre;
};
constexpr std::array<PositionInfo, kPositions.size()> kPositionInfo{{
    {"at the top left", {0.27f, 0.27f}},
    {"at the top", {0.5f, 0.27f}},
    {"at the top right", {0.73f, 0.27f}},
    {"on the left", {0.27f, 0.5f}},
    {"in the center", {0.5f, 0.5f}},
    {"on the right", {0.73f, 0.5f}},
    {"at the bottom left", {0.27f, 0.73f}},
    {"at the bottom", {0.5f, 0.73f}},
    {"at the bottom right", {0.73f, 0.73f}},
}};

template <class E>
std::size_t index(E e) {
  return static_cast<std::size_t>(e);
}

// --- shape geometry ------------------------------------------------------------------------------
// Each kind is a signed distance bound in pixels around its centroid: negative inside, and |d| never
// more than the true distance to the outline, so |d| > half a pixel diagonal proves a pixel is
// entirely inside or outside and only the pixels along the outline need supersampling.
struct Silhouette {
  ShapeKind kind;
  float r;  // equal-area radius, pixels

  float distance(float x, float y) const {
    const float ax = std::abs(x), ay = std::abs(y);
    switch (kind) {
      case ShapeKind::circle:
        return std::hypot(x, y) - r;
      case ShapeKind::square: {
        // side² = π r²
        const float half = 0.5f * std::sqrt(std::numbers::pi_v<float>) * r;
        return std::max(ax, ay) - half;
      }
      case ShapeKind::triangle: {
        // Equilateral, pointing up (y grows downwards), area (√3/4) a² = π r². Each edge lies at
        // the inradius a/(2√3) from the centroid, its outward normal at 90°, 210° or 330°.
        const float a = std::sqrt(4 * std::numbers::pi_v<float> / std::numbers::sqrt3_v<float>) * r;
        const float inradius = a / (2 * std::numbers::sqrt3_v<float>);
        const float s = 0.5f * std::numbers::sqrt3_v<float>;
        return std::max({y, -s * x - 0.5f * y, s * x - 0.5f * y}) - inradius;
      }
      case ShapeKind::cross: {
        // A plus sign of five w×w squares (arms as wide as they are long): 5 w² = π r². Wide arms
        // keep the cross recognisable after the VAE's 8× downsampling.
        const float w = std::sqrt(std::numbers::pi_v<float> / 5) * r;
        const float bar = std::max(ax - 1.5f * w, ay - 0.5f * w);
        const float post = std::max(ax - 0.5f * w, ay - 1.5f * w);
        return std::min(bar, post);
      }
    }
    return 1e9f;
  }
};

constexpr int kSupersample = 16;  // per axis, for pixels on the outline

void render_into(const Scene& scene, int side, std::span<std::uint8_t> rgb_out, std::span<float> coverage) {
  if (side < 1) throw std::invalid_argument("shapes::render: side must be >= 1, got " + std::to_string(side));
  const auto pixels = static_cast<std::size_t>(side) * static_cast<std::size_t>(side);
  if (rgb_out.size() != pixels * 3)
    throw std::invalid_argument("shapes::render: the RGB buffer holds " + std::to_string(rgb_out.size()) +
                                " bytes, a " + std::to_string(side) + "x" + std::to_string(side) +
                                " picture needs " + std::to_string(pixels * 3));
  if (!coverage.empty() && coverage.size() != pixels)
    throw std::invalid_argument("shapes::render: the coverage buffer holds " + std::to_string(coverage.size()) +
                                " values, expected " + std::to_string(pixels));

  const Silhouette shape{scene.shape, equal_area_radius(scene.size) * static_cast<float>(side)};
  const Point c = centre(scene.position);
  const float cx = (c.x + scene.jitter_x) * static_cast<float>(side);
  const float cy = (c.y + scene.jitter_y) * static_cast<float>(side);
  const Rgb fg = rgb(scene.colour), bg = rgb(scene.background);

  for (int j = 0; j < side; ++j) {
    for (int i = 0; i < side; ++i) {
      const float x = static_cast<float>(i) + 0.5f - cx, y = static_cast<float>(j) + 0.5f - cy;
      const float d = shape.distance(x, y);
      float cover = d < 0 ? 1.0f : 0.0f;
      if (std::abs(d) < 0.75f) {
        int inside = 0;
        for (int sy = 0; sy < kSupersample; ++sy)
          for (int sx = 0; sx < kSupersample; ++sx)
            inside += shape.distance(x + (static_cast<float>(sx) + 0.5f) / kSupersample - 0.5f,
                                     y + (static_cast<float>(sy) + 0.5f) / kSupersample - 0.5f) < 0;
        cover = static_cast<float>(inside) / (kSupersample * kSupersample);
      }
      const auto p = static_cast<std::size_t>(j) * static_cast<std::size_t>(side) + static_cast<std::size_t>(i);
      auto mix = [cover](std::uint8_t b, std::uint8_t f) {
        return static_cast<std::uint8_t>(std::lround(b + (static_cast<float>(f) - b) * cover));
      };
      rgb_out[3 * p + 0] = mix(bg.r, fg.r);
      rgb_out[3 * p + 1] = mix(bg.g, fg.g);
      rgb_out[3 * p + 2] = mix(bg.b, fg.b);
      if (!coverage.empty()) coverage[p] = cover;
    }
  }
}

// --- caption parsing -----------------------------------------------------------------------------
std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// Quotes user text in an error message: shortened so a hostile megabyte caption stays readable,
// control bytes (a NUL would cut what() short) written as \xNN.
std::string quoted(std::string_view s) {
  constexpr std::size_t kMax = 60;
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string out = "\"";
  for (const char ch : s.substr(0, kMax)) {
    const auto byte = static_cast<unsigned char>(ch);
    if (byte < 0x20 || byte == 0x7f) {
      ((out += "\\x") += kHex[byte >> 4]) += kHex[byte & 15];
    } else {
      out += ch;
    }
  }
  if (s.size() > kMax) out += "...";
  return out + "\"";
}

class CaptionParser {
 public:
  explicit CaptionParser(std::string_view text) : text_(text) {
    std::string lowered = lowercase(text);
    std::size_t i = 0;
    while (i < lowered.size()) {
      while (i < lowered.size() && std::isspace(static_cast<unsigned char>(lowered[i]))) ++i;
      std::size_t j = i;
      while (j < lowered.size() && !std::isspace(static_cast<unsigned char>(lowered[j]))) ++j;
      if (j > i) words_.push_back(lowered.substr(i, j - i));
      i = j;
    }
    if (!words_.empty() && words_.back().size() > 1 && words_.back().back() == '.') words_.back().pop_back();
    if (words_.empty()) throw std::invalid_argument("shapes caption is empty; expected e.g. \"a large red circle in the center on a blue background\"");
  }

  Scene parse(std::mt19937_64& rng) {
    Scene scene{};
    accept("a") || accept("an");
    std::optional<Size> size = match_name(kSizes, kSizeNames);
    scene.colour = expect_colour("a colour (or small/large)");
    scene.shape = expect_name(kShapeKinds, kShapeNames, "a shape");
    std::optional<Position> position;
    if (peek() == "at" || peek() == "in" || (peek() == "on" && peek(1) == "the")) position = expect_position();
    expect("on");
    accept("a");
    scene.background = expect_colour("the background colour");
    expect("background");
    if (pos_ < words_.size()) fail("an end of the caption after \"background\"");
    if (scene.background == scene.colour)
      throw std::invalid_argument("shapes caption " + quoted(text_) + ": the shape's colour (" +
                                  std::string(name(scene.colour)) + ") must differ from the background's");

    scene.size_stated = size.has_value();
    scene.position_stated = position.has_value();
    scene.size = size ? *size : kSizes[uniform_index(rng, kSizes.size())];
    scene.position = position ? *position : kPositions[uniform_index(rng, kPositions.size())];
    return scene;
  }

 private:
  std::string_view peek(std::size_t ahead = 0) const {
    return pos_ + ahead < words_.size() ? std::string_view(words_[pos_ + ahead]) : std::string_view();
  }
  bool accept(std::string_view word) {
    if (peek() != word) return false;
    ++pos_;
    return true;
  }
  [[noreturn]] void fail(const std::string& expected) const {
    if (pos_ >= words_.size())
      throw std::invalid_argument("shapes caption " + quoted(text_) + " ends too early: expected " + expected);
    throw std::invalid_argument("shapes caption " + quoted(text_) + ": unexpected word " + quoted(words_[pos_]) +
                                " (word " + std::to_string(pos_ + 1) + "); expected " + expected);
  }
  void expect(std::string_view word) {
    if (!accept(word)) fail("\"" + std::string(word) + "\"");
  }
  template <class E, std::size_t N>
  std::optional<E> match_name(const std::array<E, N>& values, const std::array<std::string_view, N>& names) {
    for (std::size_t k = 0; k < N; ++k)
      if (accept(names[k])) return values[k];
    return std::nullopt;
  }
  template <class E, std::size_t N>
  E expect_name(const std::array<E, N>& values, const std::array<std::string_view, N>& names,
                std::string_view what) {
    if (auto v = match_name(values, names)) return *v;
    std::string list;
    for (auto n : names) list += (list.empty() ? "" : ", ") + std::string(n);
    fail(std::string(what) + " (" + list + ")");
  }
  Colour expect_colour(std::string_view what) {
    std::array<std::string_view, kColours.size()> names;
    for (std::size_t k = 0; k < names.size(); ++k) names[k] = kColourInfo[k].name;
    return expect_name(kColours, names, what);
  }
  // How many of the phrase's words the caption has from the current word on ("centre" counts as
  // "center").
  std::size_t matched_words(std::string_view ph) const {
    std::size_t k = 0;
    for (std::size_t i = 0; i <= ph.size(); ++k) {
      const std::size_t j = std::min(ph.find(' ', i), ph.size());
      const std::string_view want = ph.substr(i, j - i), got = peek(k);
      if (got != want && !(want == "center" && got == "centre")) break;
      i = j + 1;
    }
    return k;
  }
  static std::size_t word_count(std::string_view ph) { return static_cast<std::size_t>(std::count(ph.begin(), ph.end(), ' ')) + 1; }
  // The longest phrase that matches wins ("at the top left" over "at the top").
  Position expect_position() {
    std::optional<Position> best;
    std::size_t best_len = 0;
    for (Position p : kPositions) {
      const std::size_t n = word_count(phrase(p));
      if (matched_words(phrase(p)) == n && n > best_len) best = p, best_len = n;
    }
    if (!best) {
      // Point at the first word that no phrase continues with.
      std::size_t longest = 0;
      for (Position p : kPositions) longest = std::max(longest, matched_words(phrase(p)));
      pos_ += longest;
      fail("a position (at the top left, at the top, at the top right, on the left, in the center, on the right, "
           "at the bottom left, at the bottom, at the bottom right)");
    }
    pos_ += best_len;
    return *best;
  }

  std::string_view text_;
  std::vector<std::string> words_;
  std::size_t pos_ = 0;
};

}  // namespace

Rgb rgb(Colour c) { return kColourInfo.at(index(c)).rgb; }
std::string_view name(Colour c) { return kColourInfo.at(index(c)).name; }
std::string_view name(ShapeKind k) { return kShapeNames.at(index(k)); }
std::string_view name(Size s) { return kSizeNames.at(index(s)); }
std::string_view phrase(Position p) { return kPositionInfo.at(index(p)).phrase; }
Point centre(Position p) { return kPositionInfo.at(index(p)).centre; }
float equal_area_radius(Size s) { return s == Size::small ? 0.11f : 0.21f; }
float shape_distance(ShapeKind kind, float radius, float x, float y) { return Silhouette{kind, radius}.distance(x, y); }

Scene random_scene(std::mt19937_64& rng) {
  Scene s{};
  s.background = kColours[uniform_index(rng, kColours.size())];
  // One of the other seven colours, uniformly.
  const std::size_t other = uniform_index(rng, kColours.size() - 1);
  s.colour = kColours[other >= index(s.background) ? other + 1 : other];
  s.shape = kShapeKinds[uniform_index(rng, kShapeKinds.size())];
  s.size = kSizes[uniform_index(rng, kSizes.size())];
  s.position = kPositions[uniform_index(rng, kPositions.size())];
  s.size_stated = uniform01(rng) < 0.8;
  s.position_stated = uniform01(rng) < 0.8;
  draw_jitter(s, rng);
  return s;
}

Scene scene_from_caption(std::string_view text, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Scene s = parse_caption(text, rng);
  draw_jitter(s, rng);
  return s;
}

std::string caption(const Scene& s) {
  std::string out = "a ";
  if (s.size_stated) (out += name(s.size)) += ' ';
  ((out += name(s.colour)) += ' ') += name(s.shape);
  if (s.position_stated) (out += ' ') += phrase(s.position);
  return ((out += " on a ") += name(s.background)) += " background";
}

Scene parse_caption(std::string_view text, std::mt19937_64& rng) { return CaptionParser(text).parse(rng); }

void render(const Scene& scene, int side, std::span<std::uint8_t> rgb_out) { render_into(scene, side, rgb_out, {}); }

void render(const Scene& scene, int side, std::span<std::uint8_t> rgb_out, std::span<float> coverage) {
  if (coverage.empty() && side > 0)
    throw std::invalid_argument("shapes::render: the coverage buffer is empty, expected " +
                                std::to_string(static_cast<std::size_t>(side) * side) + " values");
  render_into(scene, side, rgb_out, coverage);
}

Colour nearest_colour(float r, float g, float b) {
  Colour best = Colour::red;
  float best_d = 1e30f;
  for (Colour c : kColours) {
    const Rgb v = rgb(c);
    const float d = (r - v.r) * (r - v.r) + (g - v.g) * (g - v.g) + (b - v.b) * (b - v.b);
    if (d < best_d) best = c, best_d = d;
  }
  return best;
}

}  // namespace diffgraph::shapes
