#include "diffgraph/tensor_values.hpp"

#include <sstream>

#include <torch/torch.h>

#include <diffgraph/errors.hpp>

namespace diffgraph {

namespace {

std::string shape_text(at::IntArrayRef sizes) {
  std::string out;
  for (std::size_t i = 0; i < sizes.size(); ++i) out += (i ? "x" : "") + std::to_string(sizes[i]);
  return out;
}

std::size_t tensor_bytes(const torch::Tensor& t) {
  return t.defined() ? static_cast<std::size_t>(t.numel()) * t.element_size() : 0;
}

void require(bool ok, const std::string& message) {
  if (!ok) throw NodeError(message);
}

// [H, W, 3] float in [0, 1] → RGBA8, nearest-neighbour downscale to at most max_side.
PreviewImage rgb_to_preview(torch::Tensor rgb, int max_side) {
  const int64_t h = rgb.size(0), w = rgb.size(1);
  const double scale = std::min(1.0, static_cast<double>(max_side) / static_cast<double>(std::max(h, w)));
  const int64_t oh = std::max<int64_t>(1, static_cast<int64_t>(h * scale));
  const int64_t ow = std::max<int64_t>(1, static_cast<int64_t>(w * scale));
  if (oh != h || ow != w) {
    rgb = torch::nn::functional::interpolate(
              rgb.permute({2, 0, 1}).unsqueeze(0),
              torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{oh, ow}).mode(torch::kArea))
              .squeeze(0)
              .permute({1, 2, 0});
  }
  auto bytes = (rgb.clamp(0, 1) * 255.0).round().to(torch::kUInt8).contiguous();
  PreviewImage preview;
  preview.width = static_cast<int>(ow);
  preview.height = static_cast<int>(oh);
  preview.rgba.resize(static_cast<std::size_t>(ow * oh * 4));
  const uint8_t* src = bytes.data_ptr<uint8_t>();
  for (int64_t i = 0; i < ow * oh; ++i) {
    preview.rgba[i * 4 + 0] = src[i * 3 + 0];
    preview.rgba[i * 4 + 1] = src[i * 3 + 1];
    preview.rgba[i * 4 + 2] = src[i * 3 + 2];
    preview.rgba[i * 4 + 3] = 255;
  }
  return preview;
}

}  // namespace

ImageValue::ImageValue(torch::Tensor pixels) : pixels_(std::move(pixels)) {
  require(pixels_.defined() && pixels_.dim() == 4 && pixels_.size(3) == 3 && pixels_.scalar_type() == torch::kFloat,
          "an IMAGE must be float32 [batch, height, width, 3], got " +
              (pixels_.defined() ? shape_text(pixels_.sizes()) : std::string("nothing")));
}
std::string_view ImageValue::type() const { return tensor_types::kImage; }
std::size_t ImageValue::byte_size() const { return sizeof(*this) + tensor_bytes(pixels_); }
std::string ImageValue::summary() const { return "IMAGE " + shape_text(pixels_.sizes()); }
std::optional<PreviewImage> ImageValue::preview() const { return image_to_preview(pixels_); }

MaskValue::MaskValue(torch::Tensor mask) : mask_(std::move(mask)) {
  require(mask_.defined() && mask_.dim() == 3 && mask_.scalar_type() == torch::kFloat,
          "a MASK must be float32 [batch, height, width], got " +
              (mask_.defined() ? shape_text(mask_.sizes()) : std::string("nothing")));
}
std::string_view MaskValue::type() const { return tensor_types::kMask; }
std::size_t MaskValue::byte_size() const { return sizeof(*this) + tensor_bytes(mask_); }
std::string MaskValue::summary() const { return "MASK " + shape_text(mask_.sizes()); }
std::optional<PreviewImage> MaskValue::preview() const {
  return rgb_to_preview(mask_[0].unsqueeze(-1).expand({-1, -1, 3}).to(torch::kCPU), 256);
}

LatentValue::LatentValue(torch::Tensor samples, std::optional<torch::Tensor> noise_mask)
    : samples_(std::move(samples)), noise_mask_(std::move(noise_mask)) {
  require(samples_.defined() && samples_.dim() == 4 && samples_.scalar_type() == torch::kFloat,
          "a LATENT must be float32 [batch, channels, height, width], got " +
              (samples_.defined() ? shape_text(samples_.sizes()) : std::string("nothing")));
  if (noise_mask_)
    require(noise_mask_->defined() && noise_mask_->dim() >= 2 && noise_mask_->dim() <= 4,
            "a latent noise mask must be [height, width], [batch, height, width] or [batch, 1, height, width]");
}
std::string_view LatentValue::type() const { return tensor_types::kLatent; }
std::size_t LatentValue::byte_size() const {
  return sizeof(*this) + tensor_bytes(samples_) + (noise_mask_ ? tensor_bytes(*noise_mask_) : 0);
}
std::string LatentValue::summary() const {
  return "LATENT " + shape_text(samples_.sizes()) + (noise_mask_ ? " with noise mask" : "");
}
std::optional<PreviewImage> LatentValue::preview() const { return latent_to_preview(samples_[0]); }

ConditioningValue::ConditioningValue(std::vector<ConditioningEntry> entries) : entries_(std::move(entries)) {
  require(!entries_.empty(), "CONDITIONING needs at least one encoding");
  for (const auto& e : entries_)
    require(e.context.defined() && e.context.dim() == 3, "a CONDITIONING encoding must be [1, tokens, width]");
}
std::string_view ConditioningValue::type() const { return tensor_types::kConditioning; }
std::size_t ConditioningValue::byte_size() const {
  std::size_t total = sizeof(*this);
  for (const auto& e : entries_) total += tensor_bytes(e.context) + tensor_bytes(e.pooled);
  return total;
}
std::string ConditioningValue::summary() const {
  return "CONDITIONING " + std::to_string(entries_.size()) + " x " + shape_text(entries_.front().context.sizes());
}

SigmasValue::SigmasValue(torch::Tensor sigmas) : sigmas_(std::move(sigmas)) {
  require(sigmas_.defined() && sigmas_.dim() == 1 && sigmas_.size(0) >= 1, "SIGMAS must be a 1-D tensor");
}
std::string_view SigmasValue::type() const { return tensor_types::kSigmas; }
std::size_t SigmasValue::byte_size() const { return sizeof(*this) + tensor_bytes(sigmas_); }
std::string SigmasValue::summary() const {
  std::ostringstream out;
  out << "SIGMAS " << sigmas_.size(0) << " from " << sigmas_[0].item<double>() << " to "
      << sigmas_[-1].item<double>();
  return out.str();
}

std::string_view NoiseValue::type() const { return tensor_types::kNoise; }
std::string NoiseValue::summary() const { return "NOISE seed " + std::to_string(seed_); }

PreviewImage latent_to_preview(const torch::Tensor& latent) {
  // How SD's four latent channels map to RGB, fitted on SD 1.x decodes (the factors ComfyUI
  // uses for its cheap previews). Channels beyond four are ignored.
  static const float factors[4][3] = {
      {0.3512f, 0.2297f, 0.3227f}, {0.3250f, 0.4974f, 0.2350f}, {-0.2829f, 0.1762f, 0.2721f}, {-0.2120f, -0.2616f, -0.7177f}};
  auto f = torch::from_blob(const_cast<float*>(&factors[0][0]), {4, 3}, torch::kFloat);
  const int64_t channels = std::min<int64_t>(4, latent.size(0));
  auto x = latent.detach().to(torch::kCPU, torch::kFloat).slice(0, 0, channels);
  auto rgb = torch::einsum("chw,cr->hwr", {x, f.slice(0, 0, channels)});
  return rgb_to_preview((rgb + 1.0) * 0.5, 512);
}

PreviewImage image_to_preview(const torch::Tensor& pixels, int max_side) {
  return rgb_to_preview(pixels[0].detach().to(torch::kCPU, torch::kFloat), max_side);
}

}  // namespace diffgraph
