// image_adjust: an example tensor plugin. Three nodes on IMAGE values (float32 [B, H, W, 3] in
// [0, 1], see <diffgraph/tensor_values.hpp>): a gaussian blur, an unsharp-mask sharpen and
// levels. One file, so the plugin compiles one LibTorch translation unit.
#include <array>
#include <cmath>
#include <cstdint>
#include <string>

// The narrow LibTorch header (tensors and ATen operators); <torch/torch.h> would add the
// whole C++ frontend and double the compile time.
#include <torch/types.h>

#include <diffgraph/plugin.hpp>
#include <diffgraph/tensor_values.hpp>

using namespace diffgraph;

namespace {

/// A normalised 1-D gaussian of 2 * radius + 1 taps.
torch::Tensor gaussian_kernel(std::int64_t radius, double sigma) {
  const torch::Tensor x = torch::arange(-radius, radius + 1, torch::kFloat32);
  const torch::Tensor kernel = torch::exp(-(x * x) / (2.0 * sigma * sigma));
  return kernel / kernel.sum();
}

/// Blurs one picture [H, W, 3] with a separable gaussian (a horizontal, then a vertical pass),
/// repeating the edge pixels outwards so borders do not darken.
torch::Tensor blur_picture(const torch::Tensor& picture, std::int64_t radius, double sigma) {
  const torch::Tensor kernel = gaussian_kernel(radius, sigma);
  const std::int64_t taps = 2 * radius + 1;
  const std::array<std::int64_t, 2> stride{1, 1}, padding{0, 0}, dilation{1, 1};
  torch::Tensor x = picture.permute({2, 0, 1}).unsqueeze(0);  // [1, 3, H, W], as conv2d wants
  x = torch::replication_pad2d(x, {radius, radius, radius, radius});
  // groups = 3: each colour channel is filtered on its own.
  x = torch::conv2d(x, kernel.view({1, 1, 1, taps}).repeat({3, 1, 1, 1}), {}, stride, padding, dilation, 3);
  x = torch::conv2d(x, kernel.view({1, 1, taps, 1}).repeat({3, 1, 1, 1}), {}, stride, padding, dilation, 3);
  return x.squeeze(0).permute({1, 2, 0}).contiguous();
}

/// Blurs every picture of a batch, one at a time: between pictures the node reports progress
/// (with a preview of the picture just done) and stops if the run was cancelled.
torch::Tensor blur_batch(NodeContext& ctx, const torch::Tensor& pixels, std::int64_t radius, double sigma) {
  const int count = static_cast<int>(pixels.size(0));
  std::vector<torch::Tensor> blurred;
  for (int index = 0; index < count; ++index) {
    ctx.throw_if_cancelled();  // do not start another picture after a cancel
    blurred.push_back(blur_picture(pixels[index], radius, sigma));
    // progress() also throws Cancelled when the run was asked to stop.
    ctx.progress(index + 1, count, image_to_preview(blurred.back().unsqueeze(0)));
  }
  return torch::stack(blurred);
}

InputSpec radius_input(std::int64_t default_radius) {
  return InputSpec::integer("radius", default_radius).range(0, 64).describe("kernel half-width in pixels; 0 = off");
}

InputSpec sigma_input() {
  return InputSpec::number("sigma", 1.0).range(0.1, 32.0, 0.1).describe("gaussian standard deviation in pixels");
}

NodeSpec image_blur_node() {
  NodeSpec spec;
  spec.type = "ImageBlur";
  spec.display_name = "Blur Image";
  spec.category = "image/filters";
  spec.description = "Gaussian blur of every image of the batch.";
  spec.inputs = {InputSpec::link("image", "IMAGE"), radius_input(3), sigma_input()};
  spec.outputs = {{"IMAGE", "IMAGE", "the blurred images"}};
  spec.execute = [](NodeContext& ctx) {
    const std::int64_t radius = ctx.get_int("radius");
    if (radius == 0) {
      // Values never change once made, so passing the input on is safe and copies nothing.
      ctx.set_output("IMAGE", ctx.input("image"));
      return;
    }
    const auto image = ctx.get<ImageValue>("image");
    ctx.set_output("IMAGE", make_value<ImageValue>(blur_batch(ctx, image->pixels(), radius, ctx.get_float("sigma"))));
  };
  return spec;
}

NodeSpec image_sharpen_node() {
  NodeSpec spec;
  spec.type = "ImageSharpen";
  spec.display_name = "Sharpen Image";
  spec.category = "image/filters";
  spec.description = "Unsharp mask: image + amount * (image - blurred image), clamped to [0, 1].";
  spec.inputs = {InputSpec::link("image", "IMAGE"), radius_input(2), sigma_input(),
                 InputSpec::number("amount", 1.0).range(0.0, 5.0, 0.05).describe("0 = unchanged")};
  spec.outputs = {{"IMAGE", "IMAGE", "the sharpened images"}};
  spec.execute = [](NodeContext& ctx) {
    const auto image = ctx.get<ImageValue>("image");
    const std::int64_t radius = ctx.get_int("radius");
    const double amount = ctx.get_float("amount");
    if (radius == 0 || amount == 0.0) {
      ctx.set_output("IMAGE", image);
      return;
    }
    const torch::Tensor& pixels = image->pixels();
    const torch::Tensor blurred = blur_batch(ctx, pixels, radius, ctx.get_float("sigma"));
    ctx.set_output("IMAGE", make_value<ImageValue>((pixels + amount * (pixels - blurred)).clamp(0.0, 1.0)));
  };
  return spec;
}

NodeSpec image_levels_node() {
  NodeSpec spec;
  spec.type = "ImageLevels";
  spec.display_name = "Image Levels";
  spec.category = "image/adjust";
  spec.description =
      "Maps black..white to 0..1 (clamping outside), then applies gamma: ((x - black) / (white - black))^(1/gamma).";
  spec.inputs = {InputSpec::link("image", "IMAGE"),
                 InputSpec::number("black", 0.0).range(0.0, 1.0, 0.01).describe("input level shown as black"),
                 InputSpec::number("white", 1.0).range(0.0, 1.0, 0.01).describe("input level shown as white"),
                 InputSpec::number("gamma", 1.0).range(0.1, 10.0, 0.01).describe("> 1 brightens the midtones")};
  spec.outputs = {{"IMAGE", "IMAGE", "the adjusted images"}};
  spec.execute = [](NodeContext& ctx) {
    const double black = ctx.get_float("black");
    const double white = ctx.get_float("white");
    if (white <= black)
      throw NodeError("white (" + std::to_string(white) + ") must be greater than black (" + std::to_string(black) + ")");
    const torch::Tensor& pixels = ctx.get<ImageValue>("image")->pixels();
    const torch::Tensor levelled = ((pixels - black) / (white - black)).clamp(0.0, 1.0);
    ctx.set_output("IMAGE", make_value<ImageValue>(levelled.pow(1.0 / ctx.get_float("gamma"))));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_PLUGIN(registrar) {
  registrar.set_info("image_adjust", "1.0", "Image filters: gaussian blur, unsharp-mask sharpen, levels");
  registrar.add_node(image_blur_node());
  registrar.add_node(image_sharpen_node());
  registrar.add_node(image_levels_node());
}
