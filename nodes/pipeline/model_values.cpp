#include "model_values.hpp"

#include <torch/torch.h>

namespace diffgraph::nodes {

std::size_t module_bytes(torch::nn::Module& module) {
  std::size_t total = 0;
  for (const auto& p : module.parameters()) total += static_cast<std::size_t>(p.numel()) * p.element_size();
  for (const auto& b : module.buffers()) total += static_cast<std::size_t>(b.numel()) * b.element_size();
  return total;
}

torch::Tensor DiffusionModel::predict(const torch::Tensor& x, const torch::Tensor& timesteps,
                                      const models::ModelInputs& inputs) const {
  c10::InferenceMode inference;
  return call_through(wrappers.size(), x, timesteps, inputs);
}

torch::Tensor DiffusionModel::call_through(std::size_t count, const torch::Tensor& x, const torch::Tensor& timesteps,
                                           const models::ModelInputs& inputs) const {
  // The network itself, or the last of the first `count` wrappers around the call through the
  // others (nothing is built per call when a model has no wrappers, the usual case).
  if (count == 0) {
    return unet->forward(x.to(options), timesteps.to(options.device()), inputs.to(options)).to(torch::kCPU, torch::kFloat);
  }
  const NetworkCall next = [this, count](const torch::Tensor& x_in, const torch::Tensor& t, const models::ModelInputs& in) {
    return call_through(count - 1, x_in, t, in);
  };
  auto out = wrappers[count - 1](x, timesteps, inputs, next);
  if (!out.defined() || out.sizes() != x.sizes())
    throw NodeError("a model wrapper returned a tensor of another shape than the model's input");
  return out.to(torch::kCPU, torch::kFloat);
}

torch::Tensor DiffusionModel::predict(const torch::Tensor& x, const torch::Tensor& timesteps,
                                      const torch::Tensor& context) const {
  models::ModelInputs inputs;
  inputs.context = context;
  return predict(x, timesteps, inputs);
}

models::ModelInputs DiffusionModel::inputs_for(const ConditioningEntry& entry) const {
  models::ModelInputs inputs;
  inputs.context = entry.context;
  return inputs;
}

std::shared_ptr<const DiffusionModel> DiffusionModel::with_wrapper(NetworkWrapper wrapper, std::string new_name) const {
  if (!wrapper) throw NodeError("a model wrapper without a function");
  auto copy = std::make_shared<DiffusionModel>(*this);
  copy->wrappers.push_back(std::move(wrapper));
  copy->name = std::move(new_name);
  return copy;
}

std::size_t ModelValue::byte_size() const { return sizeof(*this) + module_bytes(*model_->unet); }
std::string ModelValue::summary() const {
  return "MODEL " + model_->name + " (" + std::string(sampling::prediction_name(model_->prediction)) + ")";
}

ConditioningEntry TextEncoder::encode(const std::string& text, std::int64_t clip_skip) const {
  c10::InferenceMode inference;
  std::vector<std::int64_t> ids;
  for (const auto& window : tokenizer->encode_windows(text, pad_id)) ids.insert(ids.end(), window.begin(), window.end());
  auto input_ids = torch::tensor(ids, torch::kLong).unsqueeze(0).to(options.device());
  auto output = model->encode_long(input_ids, clip_skip);
  ConditioningEntry entry;
  entry.context = output.hidden.to(torch::kCPU, torch::kFloat);
  auto pooled = output.pooled_projected.defined() ? output.pooled_projected : output.pooled;
  entry.pooled = pooled.to(torch::kCPU, torch::kFloat);
  return entry;
}

std::size_t ClipValue::byte_size() const { return sizeof(*this) + module_bytes(*encoder_->model); }
std::string ClipValue::summary() const {
  return "CLIP " + encoder_->name + " (clip skip " + std::to_string(clip_skip_) + ")";
}

std::int64_t Autoencoder::downscale() const {
  return std::int64_t{1} << (static_cast<std::int64_t>(vae->config.ch_mult.size()) - 1);
}

torch::Tensor Autoencoder::encode(const torch::Tensor& pixels) const {
  c10::InferenceMode inference;
  const std::int64_t f = downscale();
  const std::int64_t h = pixels.size(1) / f * f, w = pixels.size(2) / f * f;
  if (h == 0 || w == 0)
    throw NodeError("the image (" + std::to_string(pixels.size(2)) + "x" + std::to_string(pixels.size(1)) +
                    ") is smaller than one latent cell (" + std::to_string(f) + " pixels)");
  // ComfyUI crops to the centre when the size is not a multiple of the downscale factor.
  const std::int64_t top = (pixels.size(1) - h) / 2, left = (pixels.size(2) - w) / 2;
  auto image = pixels.slice(1, top, top + h).slice(2, left, left + w).permute({0, 3, 1, 2});
  auto posterior = vae->encode((image * 2.0 - 1.0).to(options));
  return (posterior.mean.to(torch::kCPU, torch::kFloat) * vae->config.scale_factor).contiguous();
}

torch::Tensor Autoencoder::decode(const torch::Tensor& latent) const {
  c10::InferenceMode inference;
  auto decoded = vae->decode((latent / vae->config.scale_factor).to(options));
  return ((decoded.to(torch::kCPU, torch::kFloat) + 1.0) / 2.0).clamp(0.0, 1.0).permute({0, 2, 3, 1}).contiguous();
}

std::size_t VaeValue::byte_size() const { return sizeof(*this) + module_bytes(*vae_->vae); }
std::string VaeValue::summary() const { return "VAE " + vae_->name; }

}  // namespace diffgraph::nodes
