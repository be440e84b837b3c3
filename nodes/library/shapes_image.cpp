// ShapesImage: a picture drawn from a shapes caption by the renderer the default model was trained
// on, so img2img and inpainting graphs run without input files.
#include <diffgraph/tensor_values.hpp>

#include <diffgraph/plugin.hpp>
#include "shapes/shapes.hpp"

namespace diffgraph::nodes {

namespace {

// Rendering is per pixel on the CPU; beyond this side a picture takes seconds and gigabytes.
constexpr std::int64_t kMaxShapesSide = 4096;

NodeSpec shapes_image() {
  NodeSpec spec;
  spec.type = "ShapesImage";
  spec.display_name = "Shapes Image";
  spec.category = "image";
  spec.description =
      "Draws one shape on a plain background from a caption of the default model's grammar: "
      "\"a [small|large] <colour> <shape> [position] on a <colour> background\" (colours red, yellow, green, cyan, "
      "blue, purple, white, black; shapes circle, square, triangle, cross; positions at the top left, at the top, "
      "at the top right, on the left, in the center, on the right, at the bottom left, at the bottom, at the bottom "
      "right). The picture is square (width must equal height).";
  InputSpec seed = InputSpec::integer("seed", 0).describe(
      "draws the size and position the caption leaves out, and the shape's small random offset");
  seed.max = 18446744073709551615.0;  // as RandomNoise: seeds above 2^63-1 arrive as negative integers
  spec.inputs = {
      InputSpec::text("caption", "a large red circle in the center on a blue background")
          .multiline_text()
          .describe("what to draw"),
      InputSpec::integer("width", 64).range(8, kMaxShapesSide, 1).describe("pixels; must equal height"),
      InputSpec::integer("height", 64).range(8, kMaxShapesSide, 1).describe("pixels; must equal width"),
      std::move(seed)};
  spec.outputs = {{"IMAGE", "IMAGE", "the picture, float [1, H, W, 3] in [0, 1]"},
                  {"MASK", "MASK", "the shape's coverage, 1 inside, anti-aliased at its outline"}};
  spec.execute = [](NodeContext& ctx) {
    const std::int64_t width = ctx.get_int("width"), height = ctx.get_int("height");
    if (width != height)
      throw NodeError("the picture is square: width " + std::to_string(width) + " must equal height " +
                      std::to_string(height));
    if (width < 8 || width > kMaxShapesSide)
      throw NodeError("width " + std::to_string(width) + " is out of range 8.." + std::to_string(kMaxShapesSide));
    shapes::Scene scene;
    try {
      scene = shapes::scene_from_caption(ctx.get_string("caption"), static_cast<std::uint64_t>(ctx.get_int("seed")));
    } catch (const std::invalid_argument& e) {
      throw NodeError(e.what());
    }
    const int side = static_cast<int>(width);
    auto rgb = torch::empty({1, side, side, 3}, torch::kUInt8);
    auto coverage = torch::empty({1, side, side}, torch::kFloat);
    const auto pixels = static_cast<std::size_t>(side) * static_cast<std::size_t>(side);
    shapes::render(scene, side, {rgb.data_ptr<std::uint8_t>(), pixels * 3}, {coverage.data_ptr<float>(), pixels});
    ctx.set_output("IMAGE", make_value<ImageValue>(rgb.to(torch::kFloat) / 255.0f));
    ctx.set_output("MASK", make_value<MaskValue>(std::move(coverage)));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(shapes_image);

}  // namespace diffgraph::nodes
