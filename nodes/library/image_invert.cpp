// ImageInvert: 1 - pixel, per channel.
#include <diffgraph/tensor_values.hpp>

#include <diffgraph/plugin.hpp>

namespace diffgraph::nodes {

namespace {

NodeSpec image_invert() {
  NodeSpec spec;
  spec.type = "ImageInvert";
  spec.display_name = "Invert Image";
  spec.category = "image";
  spec.description = "The negative of the images: 1 - value in every channel.";
  spec.inputs = {InputSpec::link("image", "IMAGE")};
  spec.outputs = {{"IMAGE", "IMAGE", "the inverted images"}};
  spec.execute = [](NodeContext& ctx) {
    ctx.set_output("IMAGE", make_value<ImageValue>(1.0f - ctx.get<ImageValue>("image")->pixels()));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(image_invert);

}  // namespace diffgraph::nodes
