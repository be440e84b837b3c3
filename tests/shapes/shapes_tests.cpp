// The shapes data set: captions, the renderer's exact colours and equal areas, and the classifier
// the evaluation relies on (exact on rendered pictures, tolerant to blur and noise).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "shapes/shapes.hpp"

namespace {

using namespace diffgraph::shapes;

struct Picture {
  int side;
  std::vector<std::uint8_t> rgb;
  std::vector<float> coverage;
};

Picture draw(const Scene& scene, int side) {
  Picture p{side, std::vector<std::uint8_t>(static_cast<std::size_t>(side) * side * 3),
            std::vector<float>(static_cast<std::size_t>(side) * side)};
  render(scene, side, p.rgb, p.coverage);
  return p;
}

Scene centred(ShapeKind kind, Size size) {
  return Scene{Colour::red, kind, Colour::blue, size, Position::center};
}

// What a VAE decoder does to a picture, roughly: a Gaussian blur and some pixel noise.
std::vector<std::uint8_t> soften(const std::vector<std::uint8_t>& rgb, int side, float sigma, float noise,
                                 std::mt19937_64& rng) {
  const int reach = static_cast<int>(std::ceil(3 * sigma));
  std::vector<float> kernel(2 * reach + 1);
  float sum = 0;
  for (int i = -reach; i <= reach; ++i) sum += kernel[i + reach] = std::exp(-0.5f * i * i / (sigma * sigma));
  std::vector<float> a(rgb.begin(), rgb.end()), b(a.size());
  auto clamp_index = [side](int v) { return std::clamp(v, 0, side - 1); };
  for (int pass = 0; pass < 2; ++pass) {
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x)
        for (int c = 0; c < 3; ++c) {
          float acc = 0;
          for (int i = -reach; i <= reach; ++i) {
            const int sx = pass == 0 ? clamp_index(x + i) : x, sy = pass == 0 ? y : clamp_index(y + i);
            acc += kernel[i + reach] / sum * a[(static_cast<std::size_t>(sy) * side + sx) * 3 + c];
          }
          b[(static_cast<std::size_t>(y) * side + x) * 3 + c] = acc;
        }
    std::swap(a, b);
  }
  std::normal_distribution<float> gauss(0, noise);
  std::vector<std::uint8_t> out(rgb.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    out[i] = static_cast<std::uint8_t>(std::clamp<long>(std::lround(a[i] + gauss(rng)), 0, 255));
  return out;
}

// --- scenes and captions -------------------------------------------------------------------------

TEST(ShapesScene, RandomScenesAreDeterministicAndCoverEveryAttribute) {
  std::mt19937_64 a(42), b(42);
  std::set<Colour> colours, backgrounds;
  std::set<ShapeKind> kinds;
  std::set<Position> positions;
  int size_stated = 0, position_stated = 0, large = 0;
  constexpr int kScenes = 4000;
  for (int i = 0; i < kScenes; ++i) {
    const Scene s = random_scene(a), t = random_scene(b);
    ASSERT_EQ(caption(s), caption(t));
    ASSERT_EQ(s.jitter_x, t.jitter_x);
    ASSERT_NE(s.colour, s.background);
    ASSERT_LE(std::abs(s.jitter_x), kJitter);
    ASSERT_LE(std::abs(s.jitter_y), kJitter);
    colours.insert(s.colour), backgrounds.insert(s.background), kinds.insert(s.shape), positions.insert(s.position);
    size_stated += s.size_stated, position_stated += s.position_stated, large += s.size == Size::large;
  }
  EXPECT_EQ(colours.size(), kColours.size());
  EXPECT_EQ(backgrounds.size(), kColours.size());
  EXPECT_EQ(kinds.size(), kShapeKinds.size());
  EXPECT_EQ(positions.size(), kPositions.size());
  EXPECT_NEAR(size_stated / double(kScenes), 0.8, 0.03);
  EXPECT_NEAR(position_stated / double(kScenes), 0.8, 0.03);
  EXPECT_NEAR(large / double(kScenes), 0.5, 0.03);
}

TEST(ShapesCaption, HasTheIssuesGrammar) {
  Scene s{Colour::green, ShapeKind::triangle, Colour::white, Size::small, Position::bottom_right};
  EXPECT_EQ(caption(s), "a small green triangle at the bottom right on a white background");
  s.size_stated = false;
  s.position = Position::left;
  EXPECT_EQ(caption(s), "a green triangle on the left on a white background");
  s.position_stated = false;
  EXPECT_EQ(caption(s), "a green triangle on a white background");
}

TEST(ShapesCaption, RoundTripsThroughParse) {
  std::mt19937_64 rng(7), fill(8);
  for (int i = 0; i < 3000; ++i) {
    const Scene s = random_scene(rng);
    const Scene p = parse_caption(caption(s), fill);
    ASSERT_EQ(caption(p), caption(s));
    EXPECT_EQ(p.colour, s.colour);
    EXPECT_EQ(p.shape, s.shape);
    EXPECT_EQ(p.background, s.background);
    EXPECT_EQ(p.size_stated, s.size_stated);
    EXPECT_EQ(p.position_stated, s.position_stated);
    if (s.size_stated) {
      EXPECT_EQ(p.size, s.size);
    }
    if (s.position_stated) {
      EXPECT_EQ(p.position, s.position);
    }
    EXPECT_EQ(p.jitter_x, 0.0f);
    EXPECT_EQ(p.jitter_y, 0.0f);
  }
}

TEST(ShapesCaption, ToleratesCaseSpacesArticlesAndAFullStop) {
  std::mt19937_64 rng(0);
  const Scene s = parse_caption("  A   LARGE Red\tcross\nIN the Centre on BLACK background. ", rng);
  EXPECT_EQ(caption(s), "a large red cross in the center on a black background");
}

TEST(ShapesCaption, DrawsWhatTheCaptionLeavesOut) {
  std::set<Size> sizes;
  std::set<Position> positions;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 200; ++i) {
    const Scene s = parse_caption("a cyan square on a purple background", rng);
    EXPECT_FALSE(s.size_stated);
    EXPECT_FALSE(s.position_stated);
    sizes.insert(s.size), positions.insert(s.position);
  }
  EXPECT_EQ(sizes.size(), kSizes.size());
  EXPECT_EQ(positions.size(), kPositions.size());
}

void expect_rejected(const std::string& text, const std::string& message_part) {
  std::mt19937_64 rng(0);
  try {
    parse_caption(text, rng);
    ADD_FAILURE() << "accepted: " << text.substr(0, 80);
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(message_part), std::string::npos) << e.what();
    EXPECT_LT(std::string(e.what()).size(), 600u) << "error messages stay short";
  }
}

TEST(ShapesCaption, HostileCaptionsGiveClearErrors) {
  expect_rejected("", "empty");
  expect_rejected(" \t\n ", "empty");
  expect_rejected("a red blob on a blue background", "unexpected word \"blob\" (word 3); expected a shape");
  expect_rejected("a huge red circle on a blue background", "unexpected word \"huge\"");
  expect_rejected("a red circle at the middle on a blue background", "unexpected word \"middle\"");
  expect_rejected("a red circle on the top on a blue background", "unexpected word \"top\"");
  expect_rejected("a red circle on a red background", "must differ from the background");
  expect_rejected("a red circle on a blue", "ends too early: expected \"background\"");
  expect_rejected("a red circle", "ends too early");
  expect_rejected("a red circle on a blue background please", "unexpected word \"please\"");
  expect_rejected("a red circle on a teal background", "expected the background colour");
  expect_rejected(std::string("a red \0circle", 13) + " on a blue background", "unexpected word \"\\x00circle\"");
  expect_rejected(std::string(1 << 20, 'x'), "...");
  std::string repeated;
  for (int i = 0; i < 10000; ++i) repeated += "a red circle on a blue background ";
  expect_rejected(repeated, "unexpected word \"a\" (word 8)");
}

// --- rendering -----------------------------------------------------------------------------------

TEST(ShapesRender, ColoursAreExactAwayFromTheEdgesAndBlendOnThem) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 300; ++i) {
    const Scene s = random_scene(rng);
    const Picture p = draw(s, 64);
    const Rgb fg = rgb(s.colour), bg = rgb(s.background);
    int inside = 0, outside = 0;
    for (std::size_t k = 0; k < p.coverage.size(); ++k) {
      const float c = p.coverage[k];
      const std::uint8_t* px = &p.rgb[3 * k];
      ASSERT_GE(c, 0.0f);
      ASSERT_LE(c, 1.0f);
      if (c == 0.0f) {
        ++outside;
        ASSERT_TRUE(px[0] == bg.r && px[1] == bg.g && px[2] == bg.b) << caption(s) << " pixel " << k;
      } else if (c == 1.0f) {
        ++inside;
        ASSERT_TRUE(px[0] == fg.r && px[1] == fg.g && px[2] == fg.b) << caption(s) << " pixel " << k;
      } else {
        ASSERT_NEAR(px[0], bg.r + (fg.r - bg.r) * c, 0.5f + 1e-3f);
        ASSERT_NEAR(px[1], bg.g + (fg.g - bg.g) * c, 0.5f + 1e-3f);
        ASSERT_NEAR(px[2], bg.b + (fg.b - bg.b) * c, 0.5f + 1e-3f);
      }
    }
    // Anti-aliasing touches only the outline: most pixels are pure colours.
    EXPECT_GT(inside, 50) << caption(s);
    EXPECT_GT(outside, 2000) << caption(s);
    // The picture's corners are background, the centroid is shape.
    EXPECT_EQ(p.coverage.front(), 0.0f);
    EXPECT_EQ(p.coverage.back(), 0.0f);
    const Point c = centre(s.position);
    const int cx = static_cast<int>((c.x + s.jitter_x) * 64), cy = static_cast<int>((c.y + s.jitter_y) * 64);
    EXPECT_EQ(p.coverage[static_cast<std::size_t>(cy) * 64 + cx], 1.0f) << caption(s);
  }
}

TEST(ShapesRender, EveryKindHasTheEqualAreaOfItsSize) {
  for (int side : {64, 256}) {
    for (ShapeKind kind : kShapeKinds) {
      for (Size size : kSizes) {
        const Picture p = draw(centred(kind, size), side);
        double area = 0;
        for (float c : p.coverage) area += c;
        const double expected = std::numbers::pi * std::pow(equal_area_radius(size) * side, 2);
        EXPECT_NEAR(area / expected, 1.0, 0.02) << name(kind) << " " << name(size) << " at side " << side;
      }
    }
  }
  EXPECT_FLOAT_EQ(equal_area_radius(Size::small), 0.11f);
  EXPECT_FLOAT_EQ(equal_area_radius(Size::large), 0.21f);
}

// Width of the shape (sum of coverage) along row y.
double row_width(const Picture& p, int y) {
  double w = 0;
  for (int x = 0; x < p.side; ++x) w += p.coverage[static_cast<std::size_t>(y) * p.side + x];
  return w;
}

TEST(ShapesRender, SilhouettesHaveTheirShapes) {
  const int side = 128, mid = side / 2;
  const Picture triangle = draw(centred(ShapeKind::triangle, Size::large), side);
  EXPECT_LT(row_width(triangle, mid - 15), row_width(triangle, mid)) << "the triangle points up";
  EXPECT_LT(row_width(triangle, mid), row_width(triangle, mid + 15));

  const Picture square = draw(centred(ShapeKind::square, Size::large), side);
  EXPECT_NEAR(row_width(square, mid - 15), row_width(square, mid + 15), 1e-3);
  EXPECT_NEAR(row_width(square, mid), std::sqrt(std::numbers::pi) * 0.21 * side, 0.5);

  // A plus sign of five equal squares: the arms are a third of the span wide.
  const Picture cross = draw(centred(ShapeKind::cross, Size::large), side);
  const double w = std::sqrt(std::numbers::pi / 5) * 0.21 * side;
  EXPECT_NEAR(row_width(cross, mid), 3 * w, 0.5);
  EXPECT_NEAR(row_width(cross, mid + static_cast<int>(w)), w, 0.5);
  EXPECT_EQ(row_width(cross, mid + static_cast<int>(1.6 * w)), 0.0);

  const Picture circle = draw(centred(ShapeKind::circle, Size::large), side);
  EXPECT_NEAR(row_width(circle, mid), 2 * 0.21 * side, 0.5);
}

TEST(ShapesRender, RejectsWrongBuffers) {
  const Scene s = centred(ShapeKind::circle, Size::small);
  std::vector<std::uint8_t> rgb_small(10);
  std::vector<float> coverage(64 * 64 - 1);
  std::vector<std::uint8_t> rgb_ok(64 * 64 * 3);
  EXPECT_THROW(render(s, 64, rgb_small), std::invalid_argument);
  EXPECT_THROW(render(s, 0, rgb_small), std::invalid_argument);
  EXPECT_THROW(render(s, 64, rgb_ok, coverage), std::invalid_argument);
  EXPECT_THROW(classify(64, rgb_small), std::invalid_argument);
}

// --- classifier ----------------------------------------------------------------------------------

void expect_classified(const Scene& s, const Classification& c, const std::string& what) {
  EXPECT_EQ(c.background, s.background) << what << caption(s);
  EXPECT_EQ(c.colour, s.colour) << what << caption(s);
  EXPECT_EQ(c.shape, s.shape) << what << caption(s);
  EXPECT_EQ(c.size, s.size) << what << caption(s);
  EXPECT_EQ(c.position, s.position) << what << caption(s);
}

TEST(ShapesClassifier, ReadsEveryRenderedSceneRight) {
  std::mt19937_64 rng(2024);
  for (int i = 0; i < 3000; ++i) {
    const Scene s = random_scene(rng);
    const Picture p = draw(s, 64);
    const Classification c = classify(64, p.rgb);
    expect_classified(s, c, "");
    if (::testing::Test::HasFailure()) return;
  }
  // Other sides too (the node renders any size).
  for (int side : {32, 128}) {
    for (int i = 0; i < 100; ++i) {
      const Scene s = random_scene(rng);
      expect_classified(s, classify(side, draw(s, side).rgb), "side " + std::to_string(side) + ": ");
    }
  }
}

TEST(ShapesClassifier, MeasuresTheArea) {
  for (ShapeKind kind : kShapeKinds)
    for (Size size : kSizes) {
      const Classification c = classify(64, draw(centred(kind, size), 64).rgb);
      const double expected = std::numbers::pi * std::pow(equal_area_radius(size), 2);
      EXPECT_NEAR(c.shape_area_fraction / expected, 1.0, 0.05) << name(kind) << " " << name(size);
    }
}

// Decoded pictures are softer and noisier than rendered ones.
TEST(ShapesClassifier, ToleratesBlurAndNoise) {
  struct Softening {
    float blur, noise;
  };
  for (const Softening soft : {Softening{1.0f, 5.0f}, Softening{1.5f, 5.0f}, Softening{2.0f, 3.0f}}) {
    std::mt19937_64 rng(99);
    constexpr int kScenes = 800;
    int wrong[5] = {};
    for (int i = 0; i < kScenes; ++i) {
      const Scene s = random_scene(rng);
      const Classification c = classify(64, soften(draw(s, 64).rgb, 64, soft.blur, soft.noise, rng));
      wrong[0] += c.background != s.background;
      wrong[1] += c.colour != s.colour;
      wrong[2] += c.shape != s.shape;
      wrong[3] += c.size != s.size;
      wrong[4] += c.position != s.position;
    }
    const std::string label = "blur " + std::to_string(soft.blur) + ", noise " + std::to_string(soft.noise);
    for (int k = 0; k < 5; ++k)
      EXPECT_LE(wrong[k], kScenes / 100) << label << ", attribute " << k << ": " << wrong[k] << " wrong";
  }
}

}  // namespace
