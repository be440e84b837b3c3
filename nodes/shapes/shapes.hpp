// shapes.hpp — the procedural "coloured shapes" data set of the embedded default model (issue #6).
//
// One shape on a plain background, drawn anti-aliased, described by a caption of a fixed grammar:
//   a [small|large] <colour> <shape> [<position phrase>] on a <colour> background
// The trainer draws its data from here, the ShapesImage node draws the same pictures for img2img
// and inpainting graphs, and the evaluation reads generated pictures back with classify().
// Torch-free, so anything can link it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>

namespace diffgraph::shapes {

enum class Colour { red, yellow, green, cyan, blue, purple, white, black };
enum class ShapeKind { circle, square, triangle, cross };
enum class Size { small, large };
enum class Position { top_left, top, top_right, left, center, right, bottom_left, bottom, bottom_right };

inline constexpr std::array kColours{Colour::red,  Colour::yellow, Colour::green, Colour::cyan,
                                     Colour::blue, Colour::purple, Colour::white, Colour::black};
inline constexpr std::array kShapeKinds{ShapeKind::circle, ShapeKind::square, ShapeKind::triangle,
                                        ShapeKind::cross};
inline constexpr std::array kSizes{Size::small, Size::large};
inline constexpr std::array kPositions{Position::top_left,    Position::top,    Position::top_right,
                                       Position::left,        Position::center, Position::right,
                                       Position::bottom_left, Position::bottom, Position::bottom_right};

/// Largest centre offset random_scene() draws, per axis, as a fraction of the side.
inline constexpr float kJitter = 0.02f;

struct Rgb {
  std::uint8_t r, g, b;
};

/// The fixed RGB value of a colour.
Rgb rgb(Colour);
/// The caption word: "red", "circle", "small".
std::string_view name(Colour);
std::string_view name(ShapeKind);
std::string_view name(Size);
/// The caption phrase: "at the top left", "on the left", "in the center", ...
std::string_view phrase(Position);

/// A position's centre (x, y) as fractions of the side, x to the right, y down.
struct Point {
  float x, y;
};
Point centre(Position);
/// Equal-area radius of a size as a fraction of the side: every shape kind of that size has the
/// area of a circle of this radius (0.11 small, 0.21 large).
float equal_area_radius(Size);
/// Signed distance bound of a shape of equal-area radius `radius` centred (centroid) at the origin,
/// at the point (x, y) in the same unit (y down): negative inside, and never more in magnitude
/// than the true distance to the outline.
float shape_distance(ShapeKind, float radius, float x, float y);

struct Scene {
  Colour colour;  ///< the shape's colour (always != background)
  ShapeKind shape;
  Colour background;
  Size size;
  Position position;
  bool size_stated = true;          ///< whether the caption mentions the size
  bool position_stated = true;      ///< whether the caption mentions the position
  float jitter_x = 0, jitter_y = 0;  ///< centre offset, fraction of the side
};

/// Platform-stable random draws: an index in [0, n) (rng() % n) and a double in [0, 1) from 53
/// random bits. Unlike std::uniform_*_distribution they give the same numbers with every standard
/// library, so a seed means the same scenes, captions and prompts everywhere.
std::size_t uniform_index(std::mt19937_64& rng, std::size_t n);
double uniform01(std::mt19937_64& rng);

/// A uniformly random scene (all attributes uniform, colour != background, size/position each
/// stated with probability 0.8, jitter uniform in ±kJitter). Deterministic for a given rng state,
/// on every platform (it uses no std:: distributions, whose output is implementation-defined).
Scene random_scene(std::mt19937_64& rng);
/// "a [small|large] <colour> <shape> [position phrase] on a <colour> background"
std::string caption(const Scene&);
/// Parses a caption of that grammar (case/extra-space tolerant; the articles and a final full
/// stop are optional). Attributes the caption leaves out are drawn from `rng` (size, position)
/// and marked not stated; jitter is 0.
/// Throws std::invalid_argument naming the unexpected word (or the missing one, or a shape whose
/// colour equals the background).
Scene parse_caption(std::string_view text, std::mt19937_64& rng);
/// The scene the ShapesImage node draws for a caption and a seed: parse_caption with an
/// std::mt19937_64 seeded with `seed`, then a random jitter (±kJitter) from the same generator.
Scene scene_from_caption(std::string_view text, std::uint64_t seed);

/// Draws the scene anti-aliased into `rgb` (side*side*3 bytes, row-major, RGB). The shape is
/// placed with its centroid at centre(position) + jitter; a triangle points up and a cross is a
/// plus sign made of five equal squares. Throws std::invalid_argument when side < 1 or the span
/// has the wrong size.
void render(const Scene&, int side, std::span<std::uint8_t> rgb);
/// Same as render, plus the shape's coverage (0..1) per pixel in `coverage` (side*side floats).
void render(const Scene&, int side, std::span<std::uint8_t> rgb, std::span<float> coverage);

/// What the classifier reads off a picture (for the evaluation).
struct Classification {
  Colour background;
  Colour colour;
  ShapeKind shape;
  Size size;
  Position position;
  float shape_area_fraction;  ///< how much of the picture the shape covers
};
/// Reads a picture (side*side*3 bytes, RGB) back into scene attributes: the background colour from
/// the border pixels, the shape colour from the pixels far from the background, the position from
/// the shape's centroid, the size from its area and the kind from its silhouette. Tolerant to the
/// blur and noise of VAE-decoded pictures. Throws std::invalid_argument on a wrong span size.
Classification classify(int side, std::span<const std::uint8_t> rgb);

/// The palette colour nearest to an RGB value (squared RGB distance).
Colour nearest_colour(float r, float g, float b);

}  // namespace diffgraph::shapes
