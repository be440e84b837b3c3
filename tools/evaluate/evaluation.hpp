// evaluation.hpp — prompt adherence of a shapes model (issue #6): sample captions of random
// scenes, decode the pictures, read them back with shapes::classify and count what matches.
//
// The model is loaded and sampled exactly as the node library does it (CheckpointLoaderSimple's
// loaders, KSampler's guided denoiser, sigmas and sampling loop, VAEDecode's decode), only with
// one prompt per row of a batch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

#include "shapes/shapes.hpp"
#include "pipeline/model_values.hpp"

namespace diffgraph::evaluate {

/// A checkpoint's three networks, loaded as the node library loads them.
struct ShapesModel {
  std::shared_ptr<const nodes::DiffusionModel> diffusion;
  std::shared_ptr<const nodes::TextEncoder> text;
  std::shared_ptr<const nodes::Autoencoder> vae;
};

/// Loads a single-file checkpoint on the CPU in float32. Throws (naming the file) when it is
/// missing or incomplete.
ShapesModel load_model(const std::filesystem::path& checkpoint);

/// One prompt: the scene its caption describes and the seed of its initial noise.
struct Prompt {
  shapes::Scene scene;
  std::string caption;
  std::uint64_t noise_seed = 0;
};

/// `count` random scenes from `seed`: the even ones state size and position, the odd ones state
/// them as the training data does (each with probability 0.8).
std::vector<Prompt> make_prompts(int count, std::uint64_t seed);

/// How the pictures are sampled (the defaults are the issue's: Euler, 20 steps).
struct SamplingSettings {
  int steps = 20;
  std::string sampler = "euler";
  std::string scheduler = "normal";
  int batch_size = 16;  ///< prompts per sampling batch
  int side = 64;        ///< picture side in pixels
};

/// The prompts' captions encoded by the text encoder: [N, 77, width].
torch::Tensor encode_captions(const ShapesModel& model, std::span<const Prompt> prompts);

/// Samples one picture per prompt at guidance scale `cfg` (prompt i's noise from its noise_seed,
/// so pictures at different scales start from the same noise) and decodes it: uint8 [N, side, side, 3].
/// `contexts` is encode_captions(model, prompts).
torch::Tensor generate(const ShapesModel& model, std::span<const Prompt> prompts, const torch::Tensor& contexts,
                       double cfg, const SamplingSettings& settings);

/// Right answers out of the prompts an attribute applies to.
struct Tally {
  int correct = 0;
  int total = 0;
  double percent() const { return total > 0 ? 100.0 * correct / total : 0.0; }
  /// At most round((1 - fraction) · total) misses: `fraction` of a small sample, e.g. 15/16 for 95%.
  bool meets(double fraction) const;
};

/// Adherence at one guidance scale. Position and size count the prompts that state them; the
/// shape type is split by size: the stated size, else the size the model drew.
struct Adherence {
  double cfg = 0;
  Tally background, colour, position, type_large, type_small, size;
};

/// Classifies each picture (uint8 [N, side, side, 3]) and compares it with its prompt.
Adherence score(std::span<const Prompt> prompts, const torch::Tensor& pictures, double cfg);

/// VAE reconstruction PSNR (dB, over all 8-bit values) of `count` rendered random scenes drawn
/// from `seed`, encoded to the posterior mean and decoded.
double vae_psnr(const ShapesModel& model, int count, std::uint64_t seed, int side);

/// How much the noise prediction at one timestep depends on each caption attribute: the ε-MSE on
/// rendered scenes (posterior-mean latents, one fixed noise draw) with the true caption, with one
/// attribute changed to another value (the rest unchanged) and with the empty caption. A model
/// that ignores an attribute shows the same error with it changed; the size of the gap is what
/// knowing the attribute is worth to the loss there.
struct CaptionSensitivity {
  int timestep = 0;
  double right = 0, wrong_position = 0, wrong_colour = 0, wrong_shape = 0, wrong_background = 0, empty = 0;
};

/// caption_sensitivity over `count` random scenes (all stating size and position) from `seed`,
/// one row per timestep (each in [0, schedule length)).
std::vector<CaptionSensitivity> caption_sensitivity(const ShapesModel& model, int count, std::uint64_t seed,
                                                    std::span<const int> timesteps, int side);

/// The sensitivity table, one row per timestep: each error, and each as a ratio to the right
/// caption's.
std::string format_sensitivity(std::span<const CaptionSensitivity> rows);

/// The adherence table, one row per guidance scale.
std::string format_table(std::span<const Adherence> rows);

/// The numbers as JSON: {"checkpoint", "prompts", "steps", "sampler", "scheduler", "rows": [...],
/// "vae_psnr_db" (when measured)}.
nlohmann::json to_json(const std::filesystem::path& checkpoint, std::span<const Adherence> rows,
                       const SamplingSettings& settings, int prompts, double vae_psnr_db);

/// Writes a PNG grid: one row per guidance scale, one column per prompt (the first `columns`),
/// with the captions and scales in a tEXt chunk. `pictures[i]` is generate()'s output at `cfgs[i]`.
void write_grid(const std::filesystem::path& path, std::span<const torch::Tensor> pictures,
                std::span<const double> cfgs, std::span<const Prompt> prompts, int columns);

}  // namespace diffgraph::evaluate
