// guidance.hpp — classifier-free guidance: turning a noise-predicting network into a Denoiser.
//
// The network (the U-Net) predicts ε (or v) from (x·c_in, t, inputs), the inputs being the
// conditioning bundle (models::ModelInputs: context, y, concat). The CFG denoiser runs it once for
// the prompt ("cond") and once for the negative prompt ("uncond") — batched into one call with x
// duplicated and each input cat([uncond, cond]), uncond first, as k-diffusion's CFGDenoiser and
// ComfyUI batch them — converts both outputs to denoised estimates (k-diffusion CompVisDenoiser /
// CompVisVDenoiser scalings) and blends them: uncond + (cond - uncond)·scale.
#pragma once

#include <functional>

#include <torch/types.h>

#include "models/model_inputs.hpp"
#include "noise_schedule.hpp"
#include "samplers.hpp"

namespace diffgraph::sampling {

/// The network: output = model(x_in, timesteps, inputs) with x_in [N,C,H,W], timesteps [N]
/// (int64 when quantized, float32 otherwise) and inputs of N rows (context [N,T,D], ...). The
/// U-Net's forward.
using NoiseModel = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& timesteps,
                                               const models::ModelInputs& inputs)>;

/// ε at integer/fractional timesteps t (CompVis DDIM's view of the model, guidance applied).
using EpsModel = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& timesteps)>;

/// What the CFG denoiser needs besides the network.
struct GuidanceConfig {
  /// The prompt's inputs: context [1 or B, T, D] (each field repeated to the sample's batch when
  /// it has fewer rows), optionally y and concat.
  models::ModelInputs cond;
  /// The negative prompt's inputs (context [1 or B, T', D]); context may be undefined when
  /// scale is 1.
  models::ModelInputs uncond;
  /// Guidance scale. At 1 (as ComfyUI, within 1e-9) the uncond pass is skipped.
  double scale = 1.0;
  /// Round t(σ) to the nearest table timestep (ComfyUI, k-diffusion's default) or interpolate.
  bool quantize_t = true;
  Prediction prediction = Prediction::Epsilon;
};

/// uncond + (cond - uncond) · scale (ComfyUI's and k-diffusion's CFG, same float order).
torch::Tensor cfg_blend(const torch::Tensor& cond, const torch::Tensor& uncond, double scale);

/// The denoised estimate of one (possibly batched) network call: c_in scaling, σ → t, the network,
/// and the prediction type's output scaling. `sigma` is [N] (one per row of x), `inputs` has N rows.
torch::Tensor denoise_with_model(const NoiseModel& model, const DiscreteSchedule& schedule,
                                 const torch::Tensor& x, const torch::Tensor& sigma,
                                 const models::ModelInputs& inputs, bool quantize_t, Prediction prediction);

/// The two contexts as one batch for a single network call: when their token counts differ (a
/// long prompt of 154 tokens against a 77-token negative), each is repeated along the tokens to
/// the least common multiple — ComfyUI's padding, which leaves cross-attention unchanged because
/// softmax over repeated keys weighs them identically. Returns an undefined tensor when that would
/// repeat a context more than 4 times (ComfyUI's limit); the caller then runs two calls.
torch::Tensor batch_contexts(const torch::Tensor& first, const torch::Tensor& second);

/// Two input bundles of the same batch size as one batch (first's rows, then second's): contexts
/// as batch_contexts pads them, y and concat concatenated. Returns inputs without a context when
/// the contexts cannot be batched; throws std::invalid_argument when one side has a y or concat
/// the other lacks.
models::ModelInputs batch_inputs(const models::ModelInputs& first, const models::ModelInputs& second);

/// The CFG denoiser over `model`. Throws std::invalid_argument when cond is missing, or uncond is
/// missing with scale != 1, or the embeddings' widths differ.
Denoiser make_cfg_denoiser(NoiseModel model, DiscreteSchedule schedule, GuidanceConfig config);

/// CFG in ε space at timesteps (CompVis DDIMSampler: e_u + scale·(e_c - e_u)); the network sees raw x.
EpsModel make_cfg_eps_model(NoiseModel model, GuidanceConfig config);

}  // namespace diffgraph::sampling
