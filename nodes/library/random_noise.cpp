// RandomNoise: a NOISE source from a seed, for SamplerCustomAdvanced.
#include <diffgraph/tensor_values.hpp>

#include <diffgraph/plugin.hpp>

namespace diffgraph::nodes {

namespace {

NodeSpec random_noise() {
  NodeSpec spec;
  spec.type = "RandomNoise";
  spec.display_name = "Random Noise";
  spec.category = "sampling/custom_sampling/noise";
  spec.description =
      "Noise drawn from `noise_seed`: the same standard-normal noise ComfyUI draws for that seed (a CPU generator, "
      "so every device gives the same picture).";
  InputSpec seed = InputSpec::integer("noise_seed", 0).describe(
      "any value 0..2^64-1; values above 2^63-1 arrive as negative 64-bit integers and are read modulo 2^64");
  // No minimum: the JSON loader keeps seeds above INT64_MAX as two's complement (negative).
  seed.max = 18446744073709551615.0;
  spec.inputs = {std::move(seed)};
  spec.outputs = {{"NOISE", "NOISE", "the seeded noise source"}};
  spec.execute = [](NodeContext& ctx) {
    const auto seed = static_cast<std::uint64_t>(ctx.get_int("noise_seed"));
    ctx.set_output("NOISE", make_value<NoiseValue>(seed));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(random_noise);

}  // namespace diffgraph::nodes
