/// @file pipeline/common_inputs.hpp
/// Inputs several sampling nodes share, declared once so their names, defaults and limits agree.
#pragma once

#include <diffgraph/node_spec.hpp>

#include "sampling/samplers.hpp"
#include "sampling/schedulers.hpp"

namespace diffgraph::nodes {

/// A seed: any 64-bit value (negative numbers are taken modulo 2^64, as the JSON loader keeps
/// seeds above 2^63 as two's complement).
inline InputSpec seed_input(const std::string& name) {
  return InputSpec::integer(name, 0).describe("random seed; the same seed gives the same noise on any device");
}
inline InputSpec steps_input() { return InputSpec::integer("steps", 20).range(1, 10000); }
inline InputSpec cfg_input() {
  return InputSpec::number("cfg", 8.0).range(0.0, 100.0, 0.1).describe("classifier-free guidance scale");
}
inline InputSpec sampler_input() { return InputSpec::choice("sampler_name", sampling::sampler_names()); }
inline InputSpec scheduler_input() { return InputSpec::choice("scheduler", sampling::scheduler_names()); }
inline InputSpec denoise_input() {
  return InputSpec::number("denoise", 1.0).range(0.0, 1.0, 0.01).describe("1 = from pure noise; less keeps more of the input latent");
}

}  // namespace diffgraph::nodes
