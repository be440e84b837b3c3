/// @file pipeline/loading.hpp
/// Building MODEL, CLIP and VAE values from a checkpoint (single file or diffusers folder).
#pragma once

#include <memory>
#include <string>

#include "model_values.hpp"

namespace diffgraph::nodes {

/// Inspects the checkpoint at `path`; errors become NodeErrors naming the file.
models::CheckpointInfo inspect(const std::filesystem::path& path);

/// The U-Net with its noise schedule (the checkpoint's alphas_cumprod buffer when it has one,
/// else SD's schedule) and prediction type.
std::shared_ptr<const DiffusionModel> load_diffusion_model(const models::CheckpointInfo& info,
                                                           const torch::TensorOptions& options,
                                                           const std::string& name);
/// The text encoder with its tokenizer (the folder's tokenizer/ files, else CLIP's vocabulary).
std::shared_ptr<const TextEncoder> load_text_encoder(const models::CheckpointInfo& info,
                                                     const torch::TensorOptions& options, const std::string& name);
/// The KL autoencoder; kept in float32 on CUDA when fp16 was requested, since SD's VAE
/// overflows in fp16.
std::shared_ptr<const Autoencoder> load_autoencoder(const models::CheckpointInfo& info,
                                                    const torch::TensorOptions& options, const std::string& name);

/// A model-file input listing the checkpoints found in the model folders ("" = default model).
InputSpec model_name_input(const std::string& input_name);

/// Fingerprint function for nodes whose input `input_name` names a model file.
FingerprintFn model_file_fingerprint(const std::string& input_name);

}  // namespace diffgraph::nodes
