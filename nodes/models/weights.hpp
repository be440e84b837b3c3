// weights.hpp — filling a module's parameters from a checkpoint by name.
//
// Model modules are laid out so that a parameter's path in the module tree is its key in the
// checkpoint minus a prefix ("input_blocks.1.1.proj_in.weight" under "model.diffusion_model."),
// so loading is a lookup, not a translation table.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <torch/nn/module.h>

#include "safetensors.hpp"

namespace diffgraph::models {

/// Tensor name → shape, the input of configuration detection (a checkpoint's header, or a
/// manifest's key list).
using ShapeMap = std::map<std::string, std::vector<std::int64_t>>;

/// The shapes of `file`'s tensors whose names start with `prefix`, with the prefix removed.
ShapeMap shapes_under(const SafetensorsFile& file, std::string_view prefix);

/// The number of numbered children under `stem`: 1 + the largest N among keys "<stem>N.…"
/// (0 when there is none), e.g. count_numbered(shapes, "encoder.layers.") = layers.
std::int64_t count_numbered(const ShapeMap& shapes, std::string_view stem);

/// Where a module parameter's values are stored in a checkpoint, for layouts whose tensors do
/// not map one to one onto the module's (see LoadWeightsOptions::source_for).
struct WeightSource {
  /// The checkpoint key (prefix removed).
  std::string key;
  /// A block of rows (dimension 0) of that tensor: OpenCLIP stores q, k and v as rows
  /// [0,W), [W,2W), [2W,3W) of one fused `in_proj_weight`. row_count < 0 takes every row.
  std::int64_t row_begin = 0;
  std::int64_t row_count = -1;
  /// The stored tensor holds the same elements in another shape (diffusers keeps the VAE
  /// attention's 1×1 convolutions as [C,C] linear weights); it is reshaped to the parameter's.
  bool reshape = false;
};

/// Options for load_weights.
struct LoadWeightsOptions {
  /// Keys under the prefix that inference does not use and that are therefore not reported as
  /// unexpected (matched against the key with the prefix removed, by predicate).
  std::function<bool(std::string_view key)> ignore_key;
  /// Maps a module parameter path to the checkpoint key (minus prefix) that holds it, for the rare
  /// layouts that differ (OpenCLIP names). Identity when unset.
  std::function<std::string(const std::string& parameter)> key_for;
  /// Like key_for, for parameters stored as a slice or in another shape. Takes precedence over
  /// key_for when set.
  std::function<WeightSource(const std::string& parameter)> source_for;
};

/// The result of matching a module's parameters against a checkpoint's tensors.
struct WeightsReport {
  /// Keys (prefix removed) the module needs and the checkpoint lacks.
  std::vector<std::string> missing;
  /// "key: file [..], model [..]" for each tensor whose shape does not fit.
  std::vector<std::string> mismatched;
  /// Keys under the prefix the module does not use and ignore_key does not accept.
  std::vector<std::string> unexpected;
  /// Keys the module does not use that ignore_key accepted.
  std::vector<std::string> ignored;
  /// Keys that fill at least one parameter or buffer.
  std::vector<std::string> used;

  bool ok() const { return missing.empty() && mismatched.empty() && unexpected.empty(); }
};

/// Matches every parameter and buffer of `module` (which may live on the meta device) against
/// `shapes` (keys with the prefix already removed) without reading any data: the check
/// load_weights makes before it copies. Lets a test hold a full-size model against a key list.
WeightsReport check_weights(torch::nn::Module& module, const ShapeMap& shapes,
                            const LoadWeightsOptions& options = {});

/// The multi-line message load_weights throws for a report that is not ok(): `source` (a file
/// name) and `prefix` are put in front of the keys.
std::string describe_weights_report(const WeightsReport& report, std::string_view source,
                                    std::string_view prefix);

/// Copies every parameter and buffer of `module` from the tensor `prefix + name` of `file`,
/// converting to the parameter's dtype and device. Shape mismatches, keys the module needs but
/// the file lacks, and keys under `prefix` the module does not use are reported together in one
/// SafetensorsError that lists them (up to 20 of each) and names the file.
void load_weights(torch::nn::Module& module, const SafetensorsFile& file, std::string_view prefix,
                  const LoadWeightsOptions& options = {});

}  // namespace diffgraph::models
