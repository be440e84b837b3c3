/// @file pipeline/model_files.hpp
/// Finding model files by name in the configured model folders, and the device, precision and
/// thread settings a run asks for.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <diffgraph/node_spec.hpp>
#include <torch/types.h>

namespace diffgraph::nodes {

/// The model folders of a run: Environment::model_dirs, then the embedded default model's folder
/// (default_model_folder(), <prefix>/share/diffgraph/models; in a build tree the source tree's
/// models/).
std::vector<std::filesystem::path> model_folders(const Environment& environment);

/// Checkpoints found in the model folders: `.safetensors` files (up to two folders deep) and
/// diffusers folders (holding model_index.json or unet/), as names relative to their folder.
std::vector<std::string> list_models(const Environment& environment);

/// The name of the model used when a loader's name is empty: the embedded default model.
inline constexpr const char* kDefaultModelName = "diffgraph-shapes.safetensors";

/// The path of model `name`: an absolute or working-directory path as is, else the first
/// folder holding it; "" means the default model. Throws NodeError naming the file, the folders
/// searched and what is available when it is missing.
std::filesystem::path resolve_model(const Environment& environment, const std::string& name);

/// A fingerprint of a model file or diffusers folder (size, mtime and hash of each weights file).
std::string model_fingerprint(const Environment& environment, const std::string& name);

/// The CLIP vocabulary shipped with diffgraph (find_data_file("clip/bpe_simple_vocab_16e6.txt.gz")),
/// for text encoders whose checkpoint has no tokenizer files. Throws NodeError naming the places
/// searched when it is missing.
std::filesystem::path default_clip_vocabulary();

/// Device and dtype from the run's settings ("device": cpu|cuda|cuda:N, "dtype":
/// fp32|fp16|bf16; on the CPU everything computes in float32). Throws NodeError for an unknown
/// value or a CUDA device this build or machine lacks.
torch::TensorOptions compute_options(const Environment& environment);

/// Sets LibTorch's intra-op thread count from Environment::threads (0 = every core).
void apply_thread_setting(const Environment& environment);

}  // namespace diffgraph::nodes
