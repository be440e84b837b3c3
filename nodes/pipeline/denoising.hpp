/// @file pipeline/denoising.hpp
/// Turning a MODEL and CONDITIONING values into the sampler's denoiser, and running a sampler
/// with the node's progress, previews and cancellation.
#pragma once

#include <cstdint>
#include <string>

#include "sampling/guidance.hpp"
#include "model_values.hpp"
#include "sampling/samplers.hpp"

namespace diffgraph::nodes {

/// The model's denoised estimate D(x, σ) for one conditioning (several encodings are averaged,
/// as ComfyUI does for combined full-image conditioning). No guidance.
torch::Tensor denoise(const DiffusionModel& model, const ConditioningValue& conditioning, const torch::Tensor& x,
                      const torch::Tensor& sigma);

/// The classifier-free-guided denoiser: uncond + cfg·(cond − uncond), cond and uncond in one
/// batched U-Net call; at cfg 1 the negative is not evaluated.
sampling::Denoiser guided_denoiser(const DiffusionModel& model, const ConditioningValue& positive,
                                   const ConditioningValue& negative, double cfg);

/// The sampler called `name`, or a NodeError listing the valid names.
std::unique_ptr<sampling::Sampler> sampler_named(const std::string& name);

/// Runs a whole sampling pass as KSampler does (start noise, inpainting mask, steps), reporting
/// each step to `ctx` with a latent preview and stopping when the run is cancelled.
/// Returns the final latent and, through `last_denoised`, the last x0 estimate.
torch::Tensor run_sampler(NodeContext& ctx, const sampling::Sampler& sampler, const sampling::Denoiser& denoiser,
                          const LatentValue& latent, const torch::Tensor& sigmas, const torch::Tensor& noise,
                          std::uint64_t seed, torch::Tensor* last_denoised = nullptr);

}  // namespace diffgraph::nodes
