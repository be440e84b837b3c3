// MaskComposite: combines a source mask into a destination mask at (x, y). The part of the
// source that falls outside the destination is clipped, as in ComfyUI.
#include <algorithm>

#include <diffgraph/tensor_values.hpp>

#include <diffgraph/plugin.hpp>
#include "pipeline/image_ops.hpp"

namespace diffgraph::nodes {

namespace {

const std::vector<std::string> kOperations{"multiply", "add", "subtract", "and", "or", "xor"};

torch::Tensor combine(const torch::Tensor& destination, const torch::Tensor& source, const std::string& operation) {
  if (operation == "multiply") return destination * source;
  if (operation == "add") return destination + source;
  if (operation == "subtract") return destination - source;
  // The logical operations read each mask as on/off, rounding at 0.5.
  const torch::Tensor a = destination.round().to(torch::kBool), b = source.round().to(torch::kBool);
  if (operation == "and") return torch::logical_and(a, b).to(torch::kFloat);
  if (operation == "or") return torch::logical_or(a, b).to(torch::kFloat);
  return torch::logical_xor(a, b).to(torch::kFloat);  // "xor"; the node checked the name
}

NodeSpec mask_composite() {
  NodeSpec spec;
  spec.type = "MaskComposite";
  spec.display_name = "Mask Composite";
  spec.category = "mask";
  spec.description =
      "Combines `source` into `destination` with its top-left corner at (x, y); the parts of the source outside "
      "the destination are ignored. and/or/xor treat values above 0.5 as on. The result is clamped to [0, 1]. "
      "Batches must match, or one of them have size 1.";
  spec.inputs = {InputSpec::link("destination", "MASK"),
                 InputSpec::link("source", "MASK"),
                 InputSpec::integer("x", 0).range(0, kMaxResolution, 1),
                 InputSpec::integer("y", 0).range(0, kMaxResolution, 1),
                 InputSpec::choice("operation", kOperations)};
  spec.outputs = {{"MASK", "MASK", "the combined masks, the destination's size"}};
  spec.execute = [](NodeContext& ctx) {
    const torch::Tensor& destination = ctx.get<MaskValue>("destination")->mask();
    const torch::Tensor& source = ctx.get<MaskValue>("source")->mask();
    const std::string& operation = ctx.get_string("operation");
    if (std::find(kOperations.begin(), kOperations.end(), operation) == kOperations.end())
      throw NodeError("unknown operation '" + operation + "' (choose multiply, add, subtract, and, or or xor)");
    const std::int64_t x = ctx.get_int("x"), y = ctx.get_int("y");
    if (x < 0 || y < 0) throw NodeError("x and y must not be negative");
    const std::int64_t batch = destination.size(0), source_batch = source.size(0);
    if (batch != source_batch && batch != 1 && source_batch != 1)
      throw NodeError("destination has a batch of " + std::to_string(batch) + " masks and source one of " +
                      std::to_string(source_batch) + ": they must match, or one be 1");

    torch::Tensor output = destination.expand({std::max(batch, source_batch), -1, -1}).clone();
    const std::int64_t right = std::min(x + source.size(2), destination.size(2));
    const std::int64_t bottom = std::min(y + source.size(1), destination.size(1));
    if (right > x && bottom > y) {
      torch::Tensor region = output.slice(1, y, bottom).slice(2, x, right);
      region.copy_(combine(region, source.slice(1, 0, bottom - y).slice(2, 0, right - x), operation));
    }
    output.clamp_(0.0, 1.0);
    ctx.set_output("MASK", make_value<MaskValue>(std::move(output)));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(mask_composite);

}  // namespace diffgraph::nodes
