/// @file pipeline/model_values.hpp
/// MODEL, CLIP, VAE, SAMPLER and GUIDER values: the loaded networks and the sampling choices
/// that flow between the diffusion nodes, in any plugin that links diffgraph::diffusion. Sampling
/// state stays on the CPU in float32 (so a seed gives the same picture on any device); only the
/// networks run on the compute device.
///
/// A node that changes a model (a patch, a wrapper) never changes the MODEL it received: it
/// copies the DiffusionModel — which shares the network's weights — adds its change and returns a
/// new MODEL (see with_wrapper).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <diffgraph/node_spec.hpp>
#include <diffgraph/tensor_values.hpp>

#include "models/checkpoint.hpp"
#include "models/clip_text_model.hpp"
#include "models/clip_tokenizer.hpp"
#include "sampling/noise_schedule.hpp"
#include "models/unet.hpp"
#include "models/vae.hpp"

namespace diffgraph::nodes {

/// The network call a wrapper wraps: the U-Net (or the next wrapper) on CPU float32 x [N,C,H,W],
/// timesteps [N] and inputs of N rows, returning CPU float32 output of x's shape.
using NetworkCall =
    std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& timesteps, const models::ModelInputs& inputs)>;

/// Changes a model's network call (ComfyUI's model function wrapper): gets the call's arguments
/// and `next`, the call it wraps, and returns the output to use instead of next's. Wrappers must
/// not keep state between calls: a MODEL is shared by every node and run that uses it.
using NetworkWrapper = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& timesteps,
                                                   const models::ModelInputs& inputs, const NetworkCall& next)>;

/// A U-Net with the noise schedule it was trained on, and the wrappers nodes added to it.
struct DiffusionModel {
  // torch::nn modules' forward() is non-const although inference changes nothing; `mutable`
  // lets the immutable values run them.
  mutable models::UNetModel unet{nullptr};
  sampling::DiscreteSchedule schedule;
  sampling::Prediction prediction = sampling::Prediction::Epsilon;
  torch::TensorOptions options;  ///< device and dtype the U-Net computes in
  std::string name;
  /// Applied around the U-Net, the first added innermost (the last added sees the call first).
  std::vector<NetworkWrapper> wrappers;

  /// The network output for CPU float32 x [N,C,H,W], timesteps [N] and inputs of N rows (context
  /// [N,T,D], ...), through the wrappers, computed on the model's device and returned as CPU
  /// float32.
  torch::Tensor predict(const torch::Tensor& x, const torch::Tensor& timesteps, const models::ModelInputs& inputs) const;
  /// The same for a text-only conditioning.
  torch::Tensor predict(const torch::Tensor& x, const torch::Tensor& timesteps, const torch::Tensor& context) const;

  /// What the network is conditioned on for one conditioning entry: its context; further fields
  /// (y, concat) as the architecture needs them.
  models::ModelInputs inputs_for(const ConditioningEntry& entry) const;

  /// A copy that shares the network's weights and calls `wrapper` around the network.
  std::shared_ptr<const DiffusionModel> with_wrapper(NetworkWrapper wrapper, std::string new_name) const;

 private:
  // The network call through the first `count` wrappers.
  torch::Tensor call_through(std::size_t count, const torch::Tensor& x, const torch::Tensor& timesteps,
                             const models::ModelInputs& inputs) const;
};

class ModelValue final : public Value {
 public:
  explicit ModelValue(std::shared_ptr<const DiffusionModel> model) : model_(std::move(model)) {}
  const DiffusionModel& model() const { return *model_; }
  std::string_view type() const override { return "MODEL"; }
  std::size_t byte_size() const override;
  std::string summary() const override;

 private:
  std::shared_ptr<const DiffusionModel> model_;
};

/// A CLIP text encoder with its tokenizer.
struct TextEncoder {
  mutable models::ClipTextModel model{nullptr};  // mutable: see DiffusionModel::unet
  std::shared_ptr<const models::ClipTokenizer> tokenizer;
  int pad_id = 49407;                   ///< SD1 pads with EOS, OpenCLIP (SD2) with 0
  std::int64_t default_clip_skip = 1;   ///< the layer the architecture conditions on
  torch::TensorOptions options;
  std::string name;

  /// Encodes a prompt of any length (75-token windows, concatenated) with `clip_skip`
  /// (1 = last layer). Returns CPU float32 context [1, 77·k, W] and pooled [1, W].
  ConditioningEntry encode(const std::string& text, std::int64_t clip_skip) const;
};

class ClipValue final : public Value {
 public:
  ClipValue(std::shared_ptr<const TextEncoder> encoder, std::int64_t clip_skip)
      : encoder_(std::move(encoder)), clip_skip_(clip_skip) {}
  const TextEncoder& encoder() const { return *encoder_; }
  std::shared_ptr<const TextEncoder> shared_encoder() const { return encoder_; }
  std::int64_t clip_skip() const { return clip_skip_; }
  std::string_view type() const override { return "CLIP"; }
  std::size_t byte_size() const override;
  std::string summary() const override;

 private:
  std::shared_ptr<const TextEncoder> encoder_;
  std::int64_t clip_skip_;
};

/// A KL autoencoder.
struct Autoencoder {
  mutable models::AutoencoderKL vae{nullptr};  // mutable: see DiffusionModel::unet
  torch::TensorOptions options;
  std::string name;

  /// pixels [B,H,W,3] in [0,1] → latent [B,C,H/8,W/8] × scale factor (posterior mean, as
  /// ComfyUI). H and W are cropped down to multiples of the VAE's downscale factor.
  torch::Tensor encode(const torch::Tensor& pixels) const;
  /// latent (scaled) → pixels [B,H,W,3] clamped to [0,1].
  torch::Tensor decode(const torch::Tensor& latent) const;
  /// How many pixels one latent cell covers along each side (8 for SD).
  std::int64_t downscale() const;
};

class VaeValue final : public Value {
 public:
  explicit VaeValue(std::shared_ptr<const Autoencoder> vae) : vae_(std::move(vae)) {}
  const Autoencoder& vae() const { return *vae_; }
  std::string_view type() const override { return "VAE"; }
  std::size_t byte_size() const override;
  std::string summary() const override;

 private:
  std::shared_ptr<const Autoencoder> vae_;
};

/// SAMPLER: a sampler name (the sampler object is made per run).
class SamplerValue final : public Value {
 public:
  explicit SamplerValue(std::string name) : name_(std::move(name)) {}
  const std::string& name() const { return name_; }
  std::string_view type() const override { return "SAMPLER"; }
  std::size_t byte_size() const override { return sizeof(*this); }
  std::string summary() const override { return "SAMPLER " + name_; }

 private:
  std::string name_;
};

/// GUIDER: the model, its positive/negative conditioning and the CFG scale.
class GuiderValue final : public Value {
 public:
  GuiderValue(std::shared_ptr<const ModelValue> model, std::shared_ptr<const ConditioningValue> positive,
              std::shared_ptr<const ConditioningValue> negative, double cfg)
      : model_(std::move(model)), positive_(std::move(positive)), negative_(std::move(negative)), cfg_(cfg) {}
  const ModelValue& model() const { return *model_; }
  const ConditioningValue& positive() const { return *positive_; }
  const ConditioningValue& negative() const { return *negative_; }
  double cfg() const { return cfg_; }
  std::string_view type() const override { return "GUIDER"; }
  std::size_t byte_size() const override { return sizeof(*this); }
  std::string summary() const override { return "GUIDER cfg " + std::to_string(cfg_); }

 private:
  std::shared_ptr<const ModelValue> model_;
  std::shared_ptr<const ConditioningValue> positive_, negative_;
  double cfg_;
};

/// The parameter bytes of a module (for the cache budget).
std::size_t module_bytes(torch::nn::Module& module);

}  // namespace diffgraph::nodes
