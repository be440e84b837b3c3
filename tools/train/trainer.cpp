#include "trainer.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <numbers>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "models/checkpoint.hpp"
#include "pipeline/file_names.hpp"
#include "pipeline/image_io.hpp"
#include "pipeline/model_files.hpp"
#include "models/clip_text_model.hpp"
#include "models/clip_tokenizer.hpp"
#include "sampling/noise_schedule.hpp"
#include "sampling/samplers.hpp"
#include "sampling/schedulers.hpp"
#include "shapes/shapes.hpp"
#include "models/tensor_io.hpp"
#include "models/unet.hpp"
#include "models/vae.hpp"

namespace diffgraph::train {

namespace fs = std::filesystem;
namespace models = diffgraph::models;
namespace sampling = diffgraph::sampling;

ModelSizes ModelSizes::default_model() { return ModelSizes{}; }

ModelSizes ModelSizes::tiny_model() {
  ModelSizes s;
  s.vae_ch = 8;
  s.vae_ch_mult = {1, 2, 2, 2};
  s.vae_res_blocks = 1;
  s.vae_norm_groups = 2;
  s.clip_width = 16;
  s.clip_layers = 1;
  s.clip_heads = 2;
  s.unet_channels = 16;
  s.unet_channel_mult = {1, 2};
  s.unet_attention_resolutions = {2};
  s.unet_res_blocks = 1;
  s.unet_heads = 2;
  s.unet_norm_groups = 4;
  return s;
}

namespace {

constexpr int kPadId = 49407;  // SD1 pads the 77-token window with EOS, as the loaders do
constexpr const char* kUnetPrefix = "model.diffusion_model.";
constexpr const char* kVaePrefix = "first_stage_model.";
constexpr const char* kClipPrefix = "cond_stage_model.transformer.text_model.";

// ---- configs -------------------------------------------------------------------------------

models::VaeConfig vae_config(const ModelSizes& s) {
  models::VaeConfig c;
  c.ch = s.vae_ch;
  c.ch_mult = s.vae_ch_mult;
  c.num_res_blocks = s.vae_res_blocks;
  c.norm_groups = s.vae_norm_groups;
  c.z_channels = 4;
  c.embed_dim = 4;
  c.double_z = true;
  c.attention_levels.clear();
  return c;
}

models::ClipTextConfig clip_config(const ModelSizes& s) {
  models::ClipTextConfig c;
  c.width = s.clip_width;
  c.layers = s.clip_layers;
  c.heads = s.clip_heads;
  c.mlp_width = 4 * s.clip_width;
  c.activation = models::ClipActivation::QuickGelu;  // SD1's CLIP, so detection says "sd1"
  return c;
}

models::UNetConfig unet_config(const ModelSizes& s) {
  models::UNetConfig c;
  c.model_channels = s.unet_channels;
  c.channel_mult = s.unet_channel_mult;
  c.attention_resolutions = s.unet_attention_resolutions;
  c.num_res_blocks = s.unet_res_blocks;
  c.num_heads = s.unet_heads;
  c.num_head_channels = -1;
  c.transformer_depth = 1;
  c.context_dim = s.clip_width;
  c.use_linear_in_transformer = false;
  c.norm_groups = s.unet_norm_groups;
  return c;
}

// ---- random numbers (the draws themselves: shapes::uniform01 / uniform_index) ---------------

std::string rng_state(const std::mt19937_64& rng) {
  std::ostringstream out;
  out << rng;
  return out.str();
}

void set_rng_state(std::mt19937_64& rng, const std::string& state) {
  std::istringstream in(state);
  in >> rng;
  if (!in) throw std::runtime_error("training checkpoint: malformed data generator state");
}

// ---- weights -------------------------------------------------------------------------------

// PyTorch's default initialisation of a layer weight: uniform ±1/√fan_in.
void default_uniform_(torch::Tensor weight, at::Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(weight[0].numel()));
  weight.uniform_(-bound, bound, gen);
}

// PyTorch's default layer initialisation (biases zero), norms at identity, CLIP's normal
// embeddings. `zero_residual_outputs`: the U-Net's last conv, the second conv of every ResBlock
// and each transformer's proj_out start at zero (CompVis' zero_module), so every block starts as
// the identity (the trainer then redraws proj_out unless TrainOptions::zero_init_transformer_outputs).
void initialise(torch::nn::Module& module, at::Generator& gen, bool zero_residual_outputs) {
  torch::NoGradGuard no_grad;
  for (auto& item : module.named_parameters()) {
    const std::string& name = item.key();
    torch::Tensor p = item.value();
    const bool zero = zero_residual_outputs &&
                      (name.starts_with("out.2.") || name.find("out_layers.3.") != std::string::npos ||
                       name.find("proj_out.") != std::string::npos);
    if (zero || name.ends_with("bias")) {
      p.zero_();
    } else if (name.ends_with("token_embedding.weight")) {
      p.normal_(0.0, 0.02, gen);
    } else if (name.ends_with("position_embedding.weight")) {
      p.normal_(0.0, 0.01, gen);
    } else if (p.dim() == 1) {
      p.fill_(1.0);  // GroupNorm / LayerNorm scale
    } else {
      default_uniform_(p, gen);
    }
  }
}

std::vector<torch::Tensor> parameters_of(const std::vector<torch::nn::Module*>& modules) {
  std::vector<torch::Tensor> out;
  for (auto* m : modules)
    for (auto& p : m->parameters()) out.push_back(p);
  return out;
}

void set_trainable(torch::nn::Module& module, bool trainable) {
  for (auto& p : module.parameters()) p.set_requires_grad(trainable);
  trainable ? module.train() : module.eval();
}

// ---- data ----------------------------------------------------------------------------------

struct Batch {
  torch::Tensor images;  // float32 [B,3,S,S] in [-1,1]
  std::vector<shapes::Scene> scenes;
};

Batch draw_batch(std::mt19937_64& rng, std::int64_t count, int side) {
  Batch batch;
  torch::Tensor rgb = torch::empty({count, side, side, 3}, torch::kUInt8);
  const std::size_t bytes = static_cast<std::size_t>(side) * side * 3;
  for (std::int64_t i = 0; i < count; ++i) {
    const shapes::Scene scene = shapes::random_scene(rng);
    shapes::render(scene, side, std::span<std::uint8_t>(rgb[i].data_ptr<std::uint8_t>(), bytes));
    batch.scenes.push_back(scene);
  }
  batch.images = rgb.permute({0, 3, 1, 2}).to(torch::kFloat32).div_(127.5).sub_(1.0).contiguous();
  return batch;
}

// The attributes a caption states, as class indices for the text encoder's pretraining probe:
// background and shape colour (8 each), shape (4), size (2 + "not stated"), position (9 + "not
// stated"). The probe's logits are these groups side by side.
constexpr std::array<std::int64_t, 5> kCaptionClassCounts{8, 8, 4, 3, 10};
constexpr std::array<const char*, 5> kCaptionAttributes{"background", "colour", "shape", "size", "position"};

// The probe's logits [B,33] as one [B,n] tensor per attribute group.
std::vector<torch::Tensor> attribute_logits(const torch::Tensor& logits) {
  return logits.split_with_sizes(kCaptionClassCounts, 1);
}

struct CaptionBatch {
  std::vector<std::string> captions;
  torch::Tensor labels;  // int64 [B,5], one column per attribute group
};

CaptionBatch draw_captions(std::mt19937_64& rng, std::int64_t count) {
  CaptionBatch batch;
  batch.labels = torch::empty({count, 5}, torch::kLong);
  auto labels = batch.labels.accessor<std::int64_t, 2>();
  for (std::int64_t i = 0; i < count; ++i) {
    const shapes::Scene scene = shapes::random_scene(rng);
    batch.captions.push_back(shapes::caption(scene));
    labels[i][0] = static_cast<std::int64_t>(scene.background);
    labels[i][1] = static_cast<std::int64_t>(scene.colour);
    labels[i][2] = static_cast<std::int64_t>(scene.shape);
    labels[i][3] = scene.size_stated ? static_cast<std::int64_t>(scene.size) : 2;
    labels[i][4] = scene.position_stated ? static_cast<std::int64_t>(scene.position) : 9;
  }
  return batch;
}

class CaptionEncoder {
 public:
  CaptionEncoder() : tokenizer_(models::ClipTokenizer::from_bpe_gz(nodes::default_clip_vocabulary())) {}
  /// Token ids [B,77] (int64) of the captions, as the loaders tokenize prompts.
  torch::Tensor ids(const std::vector<std::string>& captions) {
    torch::Tensor out = torch::empty({static_cast<std::int64_t>(captions.size()), 77}, torch::kLong);
    for (std::size_t i = 0; i < captions.size(); ++i) {
      auto it = cache_.find(captions[i]);
      if (it == cache_.end()) it = cache_.emplace(captions[i], tokenizer_.encode_77(captions[i], kPadId)).first;
      auto row = out[static_cast<std::int64_t>(i)];
      for (int j = 0; j < 77; ++j) row[j] = static_cast<std::int64_t>(it->second[j]);
    }
    return out;
  }

 private:
  models::ClipTokenizer tokenizer_;
  std::map<std::string, std::vector<int>> cache_;
};

// ---- progress ------------------------------------------------------------------------------

std::string clock_text(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  return buffer;
}

/// One stderr line per stage: a redrawn bar on a terminal, a line every 30 s in a log file.
class Progress {
 public:
  Progress(std::string stage, std::int64_t total, std::int64_t first_step, std::int64_t images_per_step)
      : stage_(std::move(stage)), total_(total), first_(first_step), images_per_step_(images_per_step),
        tty_(isatty(2) != 0), start_(Clock::now()), last_print_(start_) {}

  void update(std::int64_t step, double smoothed_loss, bool force = false) {
    const auto now = Clock::now();
    const double since_print = std::chrono::duration<double>(now - last_print_).count();
    if (!force && since_print < (tty_ ? 0.25 : 30.0)) return;
    last_print_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double done = static_cast<double>(step - first_);
    const double rate = elapsed > 0 ? done * images_per_step_ / elapsed : 0.0;
    const double eta = done > 0 ? elapsed / done * static_cast<double>(total_ - step) : 0.0;
    const int width = 24;
    const int filled = total_ > 0 ? static_cast<int>(width * step / total_) : width;
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "%s[%s] %s %lld/%lld loss %.5f %.1f img/s elapsed %s ETA %s%s", tty_ ? "\r" : "",
                 stage_.c_str(), bar.c_str(), static_cast<long long>(step), static_cast<long long>(total_),
                 smoothed_loss, rate, clock_text(elapsed).c_str(), clock_text(eta).c_str(), tty_ ? "" : "\n");
    std::fflush(stderr);
  }
  void finish(std::int64_t step, double smoothed_loss) {
    update(step, smoothed_loss, true);
    if (tty_) std::fputc('\n', stderr);
  }

 private:
  using Clock = std::chrono::steady_clock;
  std::string stage_;
  std::int64_t total_, first_, images_per_step_;
  bool tty_;
  Clock::time_point start_, last_print_;
};

void note(const std::string& text) {
  std::fprintf(stderr, "%s\n", text.c_str());
  std::fflush(stderr);
}

// ---- the run -------------------------------------------------------------------------------

// The progress bar's loss: an exponential average over ~50 steps (a negative `smoothed`: none yet).
double smooth_loss(double smoothed, double loss) { return smoothed < 0 ? loss : 0.98 * smoothed + 0.02 * loss; }

double cosine_lr(double base, std::int64_t step, std::int64_t total, std::int64_t warmup) {
  if (step < warmup) return base * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const double progress =
      total > warmup ? static_cast<double>(step - warmup) / static_cast<double>(total - warmup) : 1.0;
  // Cosine decay to a tenth of the base rate.
  return base * (0.1 + 0.9 * 0.5 * (1.0 + std::cos(std::numbers::pi * std::min(1.0, progress))));
}

// Sets every parameter group's rate: `lr` times the group's factor (one factor per group, or none
// for a factor of 1 everywhere).
void set_lr(torch::optim::AdamW& optimizer, double lr, const std::vector<double>& group_factors = {}) {
  auto& groups = optimizer.param_groups();
  for (std::size_t i = 0; i < groups.size(); ++i)
    static_cast<torch::optim::AdamWOptions&>(groups[i].options()).lr(lr * (i < group_factors.size() ? group_factors[i] : 1.0));
}

class Training {
 public:
  explicit Training(const TrainOptions& options)
      : o_(options),
        gen_(at::make_generator<at::CPUGeneratorImpl>(options.seed)),
        data_rng_(options.seed),
        vae_(vae_config(options.sizes), torch::kFloat32),
        clip_(clip_config(options.sizes), torch::kFloat32),
        unet_(unet_config(options.sizes), torch::kFloat32) {
    const std::int64_t factor = std::int64_t{1} << (options.sizes.vae_ch_mult.size() - 1);
    if (options.image_size % factor != 0)
      throw std::invalid_argument("--image-size must be a multiple of the VAE's downsampling factor " +
                                  std::to_string(factor));
    latent_side_ = options.image_size / factor;
    if (!(options.latent_std > 0)) throw std::invalid_argument("--latent-std must be positive");
    if (!(options.high_noise_fraction >= 0 && options.high_noise_fraction <= 1))
      throw std::invalid_argument("--high-noise-fraction must be in [0, 1]");
    if (!(options.text_encoder_lr_scale >= 0))
      throw std::invalid_argument("--text-encoder-lr-scale must not be negative");
    if (options.text_steps < 0) throw std::invalid_argument("--text-steps must not be negative");
    if (options.text_steps > 0 && options.text_batch < 1)
      throw std::invalid_argument("--text-batch must be at least 1");
    if (!(options.text_lr >= 0)) throw std::invalid_argument("--text-lr must not be negative");
    const std::int64_t unet_multiple = std::int64_t{1} << (options.sizes.unet_channel_mult.size() - 1);
    if (latent_side_ % unet_multiple != 0)
      throw std::invalid_argument("the latent side " + std::to_string(latent_side_) +
                                  " is not a multiple of the U-Net's " + std::to_string(unet_multiple));
    initialise(*vae_, gen_, false);
    {
      // Start the posterior nearly deterministic (std e^-4 ≈ 0.02): with logvar 0 the sampling
      // noise (std 1) drowns the young encoder's means and the VAE spends its first minutes
      // learning to shrink it. The small KL weight lets it stay small.
      torch::NoGradGuard no_grad;
      const std::int64_t embed = vae_->config.embed_dim;
      vae_->quant_conv->bias.narrow(0, embed, embed).fill_(-8.0);
    }
    initialise(*clip_, gen_, false);
    initialise(*unet_, gen_, true);
    if (!options.zero_init_transformer_outputs) {
      // Drawn from a generator of their own, so the option changes these weights only and the rest
      // of the run (the VAE stage included) draws the same numbers either way.
      at::Generator proj_out_gen = at::make_generator<at::CPUGeneratorImpl>(options.seed ^ 0x9E3779B97F4A7C15ULL);
      torch::NoGradGuard no_grad;
      for (auto& item : unet_->named_parameters())
        if (item.key().ends_with("proj_out.weight")) default_uniform_(item.value(), proj_out_gen);
    }
    if (options.cross_attention_init_scale != 1.0) {
      torch::NoGradGuard no_grad;
      for (auto& item : unet_->named_parameters())
        if (item.key().ends_with("attn2.to_q.weight") || item.key().ends_with("attn2.to_k.weight"))
          item.value().mul_(options.cross_attention_init_scale);
    }
    alphas_cumprod_ = sampling::DiscreteSchedule().alphas_cumprod().to(torch::kFloat32);
  }

  TrainResult run() {
    const auto started = std::chrono::steady_clock::now();
    TrainResult result;
    if (o_.resume) load_checkpoint();
    if (stage_ == 1 && step_ == 0 && !o_.vae_from.empty()) {
      const models::SafetensorsFile file = models::SafetensorsFile::open(o_.vae_from);
      torch::NoGradGuard no_grad;
      for (auto& item : vae_->named_parameters())
        item.value().copy_(models::load_tensor(file, kVaePrefix + item.key()));
      step_ = o_.vae_steps;
      note("VAE: taken from " + o_.vae_from.string());
    }
    if (stage_ == 1) {
      if (!train_vae()) return result;
      finish_vae();
      stage_ = 2;
      step_ = 0;
      smoothed_ = -1;
    } else {
      note("VAE: trained earlier (latent scale " + std::to_string(latent_scale_) + ")");
    }
    result.final_vae_loss = vae_final_loss_;
    if (!train_diffusion()) return result;
    result.final_diffusion_loss = smoothed_;
    result.vae_psnr_db = vae_psnr_;
    result.latent_scale = latent_scale_;
    export_model();
    result.output_bytes = fs::file_size(o_.output);
    if (!o_.samples_png.empty()) write_sample_grid();
    result.finished = true;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
  }

 private:
  // -- stage 1 --

  bool train_vae() {
    set_trainable(*vae_, true);
    set_trainable(*clip_, false);
    set_trainable(*unet_, false);
    torch::optim::AdamW optimizer(vae_->parameters(), torch::optim::AdamWOptions(o_.vae_lr).weight_decay(0.0));
    if (resumed_optimizer_) {
      optimizer.load(*resumed_optimizer_);
      resumed_optimizer_.reset();
    }
    Progress progress("vae", o_.vae_steps, step_, o_.vae_batch);
    while (step_ < o_.vae_steps) {
      if (stop_now()) {
        save_checkpoint(optimizer);
        progress.finish(step_, smoothed_);
        return false;
      }
      set_lr(optimizer, cosine_lr(o_.vae_lr, step_, o_.vae_steps, o_.warmup_steps));
      const Batch batch = draw_batch(data_rng_, o_.vae_batch, o_.image_size);
      const torch::Tensor moments = vae_->encode_moments(batch.images);
      const auto halves = moments.chunk(2, 1);
      const torch::Tensor mean = halves[0], logvar = torch::clamp(halves[1], -30.0, 20.0);
      const torch::Tensor noise = at::randn(mean.sizes(), gen_, mean.options());
      const torch::Tensor z = mean + torch::exp(0.5 * logvar) * noise;
      const torch::Tensor recon = vae_->decode(z);
      const torch::Tensor diff = recon - batch.images;
      const torch::Tensor kl = 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar).mean();
      const torch::Tensor loss = diff.abs().mean() + diff.square().mean() + o_.vae_kl_weight * kl;
      optimizer.zero_grad();
      loss.backward();
      torch::nn::utils::clip_grad_norm_(vae_->parameters(), o_.grad_clip);
      optimizer.step();
      record(loss.item<double>());
      ++step_;
      progress.update(step_, smoothed_);
      if (o_.checkpoint_every > 0 && step_ % o_.checkpoint_every == 0 && step_ < o_.vae_steps)
        save_checkpoint(optimizer);
    }
    progress.finish(step_, smoothed_);
    vae_final_loss_ = smoothed_;
    return true;
  }

  // PSNR on held-out pictures (a generator of their own, so they are the same in every run and
  // never seen in training) and the latent scale factor: 1/std of posterior samples, SD's recipe
  // for 0.18215, so the diffusion model sees unit-variance latents.
  void finish_vae() {
    set_trainable(*vae_, false);
    torch::NoGradGuard no_grad;
    std::mt19937_64 heldout_rng(o_.seed ^ 0x5DEECE66DULL);
    at::Generator heldout_gen = at::make_generator<at::CPUGeneratorImpl>(o_.seed ^ 0x5DEECE66DULL);
    double squared_error = 0, count = 0;
    std::vector<torch::Tensor> latents;
    for (std::int64_t done = 0; done < o_.heldout_images;) {
      const std::int64_t n = std::min<std::int64_t>(32, o_.heldout_images - done);
      const Batch batch = draw_batch(heldout_rng, n, o_.image_size);
      const models::DiagonalGaussian posterior = vae_->encode(batch.images);
      latents.push_back(posterior.sample(at::randn(posterior.mean.sizes(), heldout_gen, posterior.mean.options())));
      const torch::Tensor decoded = to_rgb8(vae_->decode(posterior.mean)).to(torch::kFloat32);
      const torch::Tensor original = to_rgb8(batch.images).to(torch::kFloat32);
      squared_error += (decoded - original).square().sum().item<double>();
      count += static_cast<double>(original.numel());
      done += n;
    }
    const double mse = squared_error / count;
    vae_psnr_ = 10.0 * std::log10(255.0 * 255.0 / std::max(mse, 1e-12));
    latent_scale_ = o_.latent_std / torch::cat(latents).std().item<double>();
    char line[160];
    std::snprintf(line, sizeof line, "VAE: held-out PSNR %.2f dB over %lld pictures, latent scale factor %.5f",
                  vae_psnr_, static_cast<long long>(o_.heldout_images), latent_scale_);
    note(line);
  }

  // -- stage 2 --

  // Stage 2a, before the first diffusion step: the text encoder alone, with a linear probe on the
  // mean of its output tokens that must name each attribute of the caption (see
  // TrainOptions::text_steps). The probe is dropped afterwards.
  void pretrain_text_encoder() {
    set_trainable(*vae_, false);
    set_trainable(*unet_, false);
    set_trainable(*clip_, true);
    const std::int64_t classes =
        std::accumulate(kCaptionClassCounts.begin(), kCaptionClassCounts.end(), std::int64_t{0});
    torch::nn::Linear probe(clip_->config.width, classes);
    {
      torch::NoGradGuard no_grad;
      default_uniform_(probe->weight, gen_);
      probe->bias.zero_();
    }
    std::vector<torch::Tensor> params = clip_->parameters();
    for (auto& p : probe->parameters()) params.push_back(p);
    torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(o_.text_lr).weight_decay(o_.weight_decay));
    auto probe_logits = [&](const std::vector<std::string>& texts) {
      return probe->forward(clip_->forward(captions_.ids(texts)).last_hidden_state.mean(1));
    };
    Progress progress("text", o_.text_steps, 0, o_.text_batch);
    double smoothed = -1;
    for (std::int64_t step = 0; step < o_.text_steps; ++step) {
      set_lr(optimizer, cosine_lr(o_.text_lr, step, o_.text_steps, o_.warmup_steps));
      const CaptionBatch batch = draw_captions(data_rng_, o_.text_batch);
      const std::vector<torch::Tensor> groups = attribute_logits(probe_logits(batch.captions));
      torch::Tensor loss = torch::zeros({}, groups[0].options());
      for (std::size_t g = 0; g < groups.size(); ++g)
        loss = loss + torch::nn::functional::cross_entropy(groups[g], batch.labels.select(1, static_cast<std::int64_t>(g)));
      optimizer.zero_grad();
      loss.backward();
      torch::nn::utils::clip_grad_norm_(params, o_.grad_clip);
      optimizer.step();
      const double value = loss.item<double>();
      smoothed = smooth_loss(smoothed, value);
      log_loss("text", step, value);
      progress.update(step + 1, smoothed);
    }
    progress.finish(o_.text_steps, smoothed);
    // How well the probe names each attribute of fresh captions (a generator of its own).
    torch::NoGradGuard no_grad;
    std::mt19937_64 check_rng(o_.seed ^ 0xC2B2AE3D27D4EB4FULL);
    const CaptionBatch check = draw_captions(check_rng, 512);
    const std::vector<torch::Tensor> groups = attribute_logits(probe_logits(check.captions));
    std::string line = "text encoder: probe accuracy on 512 fresh captions";
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const torch::Tensor right = groups[g].argmax(1).eq(check.labels.select(1, static_cast<std::int64_t>(g)));
      char part[48];
      std::snprintf(part, sizeof part, "%s %s %.1f %%", g == 0 ? ":" : ",", kCaptionAttributes[g],
                    100.0 * right.to(torch::kDouble).mean().item<double>());
      line += part;
    }
    note(line);
    text_pretrained_ = true;
  }

  bool train_diffusion() {
    if (step_ == 0 && o_.text_steps > 0 && !text_pretrained_) pretrain_text_encoder();
    const bool train_text_encoder = o_.text_encoder_lr_scale > 0;
    set_trainable(*vae_, false);
    set_trainable(*clip_, train_text_encoder);
    set_trainable(*unet_, true);
    // The average covers both networks (a frozen text encoder's stays its initialisation).
    const std::vector<torch::Tensor> averaged = parameters_of({clip_.get(), unet_.get()});
    if (ema_.empty() && o_.ema_decay > 0) {
      torch::NoGradGuard no_grad;
      for (auto& p : averaged) ema_.push_back(p.detach().clone());
    }
    // Optimizer groups: the U-Net, then the text encoder with its own rate factor.
    std::vector<torch::optim::OptimizerParamGroup> groups{parameters_of({unet_.get()})};
    std::vector<double> group_factors{1.0};
    if (train_text_encoder) {
      groups.emplace_back(parameters_of({clip_.get()}));
      group_factors.push_back(o_.text_encoder_lr_scale);
    }
    const std::vector<torch::Tensor> params = train_text_encoder ? averaged : parameters_of({unet_.get()});
    torch::optim::AdamW optimizer(groups, torch::optim::AdamWOptions(o_.unet_lr).weight_decay(o_.weight_decay));
    if (resumed_optimizer_) {
      optimizer.load(*resumed_optimizer_);
      resumed_optimizer_.reset();
    }
    Progress progress("diffusion", o_.diffusion_steps, step_, o_.diffusion_batch);
    const std::int64_t b = o_.diffusion_batch;
    while (step_ < o_.diffusion_steps) {
      if (stop_now()) {
        save_checkpoint(optimizer);
        progress.finish(step_, smoothed_);
        return false;
      }
      set_lr(optimizer, cosine_lr(o_.unet_lr, step_, o_.diffusion_steps, o_.warmup_steps), group_factors);
      const Batch batch = draw_batch(data_rng_, b, o_.image_size);
      std::vector<std::string> captions;
      for (shapes::Scene scene : batch.scenes) {
        if (o_.caption_shape_noise > 0 && shapes::uniform01(data_rng_) < o_.caption_shape_noise)
          scene.shape = shapes::kShapeKinds[shapes::uniform_index(data_rng_, shapes::kShapeKinds.size())];
        captions.push_back(shapes::uniform01(data_rng_) < o_.caption_dropout ? std::string() : shapes::caption(scene));
      }

      torch::Tensor latents;
      {
        torch::NoGradGuard no_grad;
        const models::DiagonalGaussian posterior = vae_->encode(batch.images);
        latents = posterior.sample(at::randn(posterior.mean.sizes(), gen_, posterior.mean.options())) * latent_scale_;
      }
      torch::Tensor t = at::randint(0, alphas_cumprod_.size(0), {b}, gen_, torch::kLong);
      if (o_.high_noise_fraction > 0) {
        const torch::Tensor high = at::randint(kHighNoiseFirstStep, alphas_cumprod_.size(0), {b}, gen_, torch::kLong);
        t = torch::where(at::rand({b}, gen_) < o_.high_noise_fraction, high, t);
      }
      const torch::Tensor noise = training_noise(latents);
      const torch::Tensor alpha_bar = alphas_cumprod_.index_select(0, t).view({b, 1, 1, 1});
      const torch::Tensor noisy = alpha_bar.sqrt() * latents + (1.0 - alpha_bar).sqrt() * noise;

      const torch::Tensor context = clip_->forward(captions_.ids(captions)).last_hidden_state;
      const torch::Tensor predicted = unet_->forward(noisy, t, context);
      torch::Tensor per_sample = (predicted - noise).square().mean({1, 2, 3});
      if (o_.min_snr_gamma > 0 || o_.x0_weight_floor > 0) {
        // Min-SNR-γ (Hang et al. 2023): for ε-prediction, weight min(SNR, γ)/SNR, so the nearly
        // clean timesteps do not dominate the gradient; the floor lifts the noisiest ones.
        const torch::Tensor snr = (alpha_bar / (1.0 - alpha_bar)).view({b});
        torch::Tensor x0_weight = o_.min_snr_gamma > 0 ? torch::clamp_max(snr, o_.min_snr_gamma) : snr;
        if (o_.x0_weight_floor > 0) x0_weight = torch::clamp_min(x0_weight, o_.x0_weight_floor);
        per_sample = per_sample * x0_weight / snr;
      }
      const torch::Tensor loss = per_sample.mean();
      optimizer.zero_grad();
      loss.backward();
      torch::nn::utils::clip_grad_norm_(params, o_.grad_clip);
      optimizer.step();
      update_ema(averaged);
      record(loss.item<double>());
      ++step_;
      progress.update(step_, smoothed_);
      if (o_.checkpoint_every > 0 && step_ % o_.checkpoint_every == 0 && step_ < o_.diffusion_steps)
        save_checkpoint(optimizer);
    }
    progress.finish(step_, smoothed_);
    return true;
  }

  // White noise, or multi-resolution noise (see TrainOptions::multires_noise).
  torch::Tensor training_noise(const torch::Tensor& latents) {
    torch::Tensor noise = at::randn(latents.sizes(), gen_, latents.options());
    if (o_.multires_noise <= 0) return noise;
    const std::int64_t b = latents.size(0), c = latents.size(1), h = latents.size(2), w = latents.size(3);
    double weight = 1.0;
    for (std::int64_t factor = 2; h / factor >= 1 && w / factor >= 1; factor *= 2) {
      weight *= o_.multires_noise;
      const torch::Tensor coarse = at::randn({b, c, h / factor, w / factor}, gen_, latents.options());
      noise = noise + weight * torch::upsample_nearest2d(coarse, {h, w});
      if (h / factor == 1 || w / factor == 1) break;
    }
    return noise;
  }

  void update_ema(const std::vector<torch::Tensor>& params) {
    if (ema_.empty()) return;
    torch::NoGradGuard no_grad;
    // Warm-up of the decay (as in most diffusion codebases): early averages forget fast.
    const double decay = std::min(o_.ema_decay, (1.0 + step_) / (10.0 + step_));
    for (std::size_t i = 0; i < params.size(); ++i) ema_[i].mul_(decay).add_(params[i], 1.0 - decay);
  }

  // -- bookkeeping --

  void record(double loss) {
    smoothed_ = smooth_loss(smoothed_, loss);
    log_loss(stage_ == 1 ? "vae" : "diffusion", step_, loss);
  }

  // One "stage step loss" line in the loss log, when there is one.
  void log_loss(const char* stage, std::int64_t step, double loss) {
    if (o_.loss_log.empty()) return;
    if (!loss_log_) {
      loss_log_ = std::make_unique<std::ofstream>(o_.loss_log, std::ios::app);
      if (!*loss_log_) throw std::runtime_error("cannot open the loss log " + o_.loss_log.string());
    }
    char line[96];
    std::snprintf(line, sizeof line, "%s %lld %.9e\n", stage, static_cast<long long>(step), loss);
    *loss_log_ << line;
    loss_log_->flush();
  }

  std::int64_t total_steps_done() const { return stage_ == 1 ? step_ : o_.vae_steps + step_; }
  bool stop_now() const { return o_.stop_after > 0 && total_steps_done() >= o_.stop_after; }

  static torch::Tensor to_rgb8(const torch::Tensor& images) {
    return ((images.clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous();
  }

  // Named tensors of the three models (CLIP and U-Net: the EMA values when there is an average).
  std::vector<std::pair<std::string, torch::Tensor>> named_weights(bool use_ema, bool with_ema_copies) {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (auto& item : vae_->named_parameters()) out.emplace_back(kVaePrefix + item.key(), item.value().detach());
    std::size_t index = 0;
    auto add = [&](torch::nn::Module& module, const std::string& prefix) {
      for (auto& item : module.named_parameters()) {
        const bool averaged = !ema_.empty();
        out.emplace_back(prefix + item.key(), use_ema && averaged ? ema_[index] : item.value().detach());
        if (with_ema_copies && averaged) out.emplace_back("ema." + prefix + item.key(), ema_[index]);
        ++index;
      }
    };
    add(*clip_, kClipPrefix);
    add(*unet_, kUnetPrefix);
    return out;
  }

  // -- checkpoints --
  // <dir>/step-<N>/{weights.safetensors, optimizer.pt}, then <dir>/latest names that folder
  // (written by rename, so a crash leaves the previous checkpoint in force).

  void save_checkpoint(torch::optim::AdamW& optimizer) {
    if (o_.checkpoint_dir.empty()) return;
    fs::create_directories(o_.checkpoint_dir);
    const std::string name = "step-" + std::to_string(total_steps_done());
    const fs::path folder = o_.checkpoint_dir / name, staging = o_.checkpoint_dir / (name + ".tmp");
    fs::remove_all(staging);
    fs::create_directories(staging);
    auto tensors = named_weights(/*use_ema=*/false, /*with_ema_copies=*/true);
    tensors.emplace_back("rng.torch", gen_.get_state());
    nlohmann::json state = {{"stage", stage_},
                            {"step", step_},
                            {"smoothed_loss", smoothed_},
                            {"vae_final_loss", vae_final_loss_},
                            {"latent_scale", latent_scale_},
                            {"vae_psnr_db", vae_psnr_},
                            {"text_pretrained", text_pretrained_},
                            {"data_rng", rng_state(data_rng_)},
                            {"seed", o_.seed},
                            {"sizes", sizes_json()}};
    models::save_tensors(staging / "weights.safetensors", tensors, {{"diffgraph.train_state", state.dump()}});
    torch::save(optimizer, (staging / "optimizer.pt").string());
    fs::remove_all(folder);
    fs::rename(staging, folder);
    const fs::path latest = o_.checkpoint_dir / "latest", latest_tmp = o_.checkpoint_dir / "latest.tmp";
    {
      std::ofstream out(latest_tmp);
      out << name << "\n";
      if (!out) throw std::runtime_error("cannot write " + latest_tmp.string());
    }
    std::string previous;
    if (std::ifstream in(latest); in) std::getline(in, previous);
    fs::rename(latest_tmp, latest);
    if (!previous.empty() && previous != name) fs::remove_all(o_.checkpoint_dir / previous);
  }

  void load_checkpoint() {
    if (o_.checkpoint_dir.empty()) throw std::invalid_argument("--resume needs --checkpoint-dir");
    std::string name;
    if (std::ifstream in(o_.checkpoint_dir / "latest"); in) std::getline(in, name);
    if (name.empty()) {
      note("resume: no checkpoint in " + o_.checkpoint_dir.string() + ", starting from scratch");
      return;
    }
    const fs::path folder = o_.checkpoint_dir / name;
    const models::SafetensorsFile file = models::SafetensorsFile::open(folder / "weights.safetensors");
    const auto it = file.metadata().find("diffgraph.train_state");
    if (it == file.metadata().end())
      throw std::runtime_error((folder / "weights.safetensors").string() + ": no diffgraph.train_state metadata");
    const nlohmann::json state = nlohmann::json::parse(it->second);
    if (state.at("sizes") != sizes_json() || state.at("seed").get<std::uint64_t>() != o_.seed)
      throw std::invalid_argument(folder.string() + ": checkpoint was made with another seed or model sizes");
    torch::NoGradGuard no_grad;
    auto load_into = [&](torch::nn::Module& module, const std::string& prefix) {
      for (auto& item : module.named_parameters())
        item.value().copy_(models::load_tensor(file, prefix + item.key()));
    };
    load_into(*vae_, kVaePrefix);
    load_into(*clip_, kClipPrefix);
    load_into(*unet_, kUnetPrefix);
    ema_.clear();
    for (auto* module : std::vector<torch::nn::Module*>{clip_.get(), unet_.get()}) {
      const std::string prefix = module == clip_.get() ? kClipPrefix : kUnetPrefix;
      for (auto& item : module->named_parameters()) {
        const std::string key = "ema." + prefix + item.key();
        if (file.find(key)) ema_.push_back(models::load_tensor(file, key));
      }
    }
    gen_.set_state(models::load_tensor(file, "rng.torch"));
    stage_ = state.at("stage").get<int>();
    step_ = state.at("step").get<std::int64_t>();
    smoothed_ = state.at("smoothed_loss").get<double>();
    vae_final_loss_ = state.at("vae_final_loss").get<double>();
    latent_scale_ = state.at("latent_scale").get<double>();
    vae_psnr_ = state.at("vae_psnr_db").get<double>();
    text_pretrained_ = state.value("text_pretrained", false);
    set_rng_state(data_rng_, state.at("data_rng").get<std::string>());
    resumed_optimizer_ = std::make_unique<torch::serialize::InputArchive>();
    resumed_optimizer_->load_from((folder / "optimizer.pt").string());
    note("resume: " + folder.string() + " (stage " + std::to_string(stage_) + ", step " + std::to_string(step_) + ")");
  }

  nlohmann::json sizes_json() const {
    const ModelSizes& s = o_.sizes;
    return {{"vae", vae_config(s).to_json()}, {"clip", clip_config(s).to_json()}, {"unet", unet_config(s).to_json()},
            {"image_size", o_.image_size}};
  }

  // -- output --

  void export_model() {
    models::VaeConfig vae = vae_config(o_.sizes);
    vae.scale_factor = latent_scale_;
    const nlohmann::json config = {{"text_encoder", clip_config(o_.sizes).to_json()},
                                   {"unet", unet_config(o_.sizes).to_json()},
                                   {"vae", vae.to_json()},
                                   {"prediction_type", "epsilon"}};
    const nlohmann::json training = {{"seed", o_.seed},
                                     {"vae_steps", o_.vae_steps},
                                     {"vae_batch", o_.vae_batch},
                                     {"diffusion_steps", o_.diffusion_steps},
                                     {"diffusion_batch", o_.diffusion_batch},
                                     {"image_size", o_.image_size},
                                     {"vae_psnr_db", vae_psnr_},
                                     {"data", "diffgraph::shapes (issue #6)"}};
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (auto& [name, tensor] : named_weights(/*use_ema=*/true, /*with_ema_copies=*/false))
      tensors.emplace_back(name, tensor.to(torch::kFloat16));
    if (!o_.output.parent_path().empty()) fs::create_directories(o_.output.parent_path());
    models::save_tensors(o_.output, tensors,
                         {{std::string(models::kConfigMetadataKey), config.dump()},
                          {"diffgraph.training", training.dump()}});
    note("wrote " + o_.output.string() + " (" + std::to_string(fs::file_size(o_.output)) + " bytes)");
  }

  // Samples the grid from the exported file through the ordinary checkpoint loader, so it shows
  // exactly what users get: rows = prompts, columns = CFG scales, Euler, `grid_steps` steps.
  void write_sample_grid() {
    c10::InferenceMode inference;
    const models::CheckpointInfo info = models::inspect_checkpoint(o_.output);
    models::ClipTextModel clip = models::load_clip_text(info);
    models::AutoencoderKL vae = models::load_vae(info);
    models::UNetModel unet = models::load_unet(info);
    const double scale = info.vae->config.scale_factor;
    const std::vector<std::string> prompts = {
        "a large red circle in the center on a blue background",
        "a large yellow square at the top left on a black background",
        "a large white triangle on the right on a green background",
        "a large blue cross at the bottom on a yellow background",
        "a small purple circle at the bottom right on a white background",
        "a large cyan square on a purple background",
        "a green triangle at the top on a red background",
        "a large black cross on the left on a cyan background",
    };
    const std::int64_t n = static_cast<std::int64_t>(prompts.size());
    const torch::Tensor cond = clip->forward(captions_.ids(prompts)).last_hidden_state;
    const torch::Tensor uncond =
        clip->forward(captions_.ids(std::vector<std::string>(prompts.size(), ""))).last_hidden_state;
    const sampling::DiscreteSchedule schedule;
    const torch::Tensor sigmas = sampling::compute_sigmas(schedule, "normal", o_.grid_steps);
    const auto sampler = sampling::make_sampler("euler");
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(o_.seed);
    const torch::Tensor start = at::randn({n, 4, latent_side_, latent_side_}, gen, torch::kFloat32);
    const std::int64_t side = o_.image_size, gap = 2;
    const std::int64_t columns = static_cast<std::int64_t>(o_.grid_cfg_scales.size());
    torch::Tensor grid = torch::full({n * (side + gap) + gap, columns * (side + gap) + gap, 3}, 128, torch::kUInt8);
    for (std::int64_t c = 0; c < columns; ++c) {
      const double cfg = o_.grid_cfg_scales[static_cast<std::size_t>(c)];
      const sampling::Denoiser denoiser = [&](const torch::Tensor& x, const torch::Tensor& sigma) {
        const torch::Tensor s = sigma.reshape({-1}).expand({x.size(0)});
        const torch::Tensor t = schedule.sigma_to_t(s, /*quantize=*/false);
        const torch::Tensor x_in = x * sampling::append_dims(sampling::c_in(s), 4);
        const std::vector<torch::Tensor> eps =
            unet->forward(torch::cat({x_in, x_in}), torch::cat({t, t}), torch::cat({uncond, cond})).chunk(2);
        const torch::Tensor guided = eps[0] + cfg * (eps[1] - eps[0]);
        return sampling::denoised_from_output(sampling::Prediction::Epsilon, x, s, guided);
      };
      const torch::Tensor latent = sampler->sample(denoiser, start * sigmas[0], sigmas);
      const torch::Tensor rgb = to_rgb8(vae->decode(latent / scale));
      for (std::int64_t r = 0; r < n; ++r) {
        grid.narrow(0, gap + r * (side + gap), side).narrow(1, gap + c * (side + gap), side).copy_(rgb[r]);
      }
    }
    if (!o_.samples_png.parent_path().empty()) fs::create_directories(o_.samples_png.parent_path());
    nodes::write_file_atomically(o_.samples_png, [&](const fs::path& temporary) {
      nodes::write_png(temporary, grid.contiguous(), {}, /*compression_level=*/6);
    });
    note("wrote " + o_.samples_png.string() + " (rows: prompts; columns: CFG " + [&] {
      std::string s;
      for (double cfg : o_.grid_cfg_scales) s += (s.empty() ? "" : ", ") + std::to_string(cfg).substr(0, 4);
      return s;
    }() + ")");
  }

  const TrainOptions& o_;
  at::Generator gen_;
  std::mt19937_64 data_rng_;
  models::AutoencoderKL vae_;
  models::ClipTextModel clip_;
  models::UNetModel unet_;
  CaptionEncoder captions_;  // one tokenizer and caption cache for every stage
  torch::Tensor alphas_cumprod_;
  std::int64_t latent_side_ = 0;
  int stage_ = 1;
  std::int64_t step_ = 0;
  double smoothed_ = -1;
  double vae_final_loss_ = 0, vae_psnr_ = 0, latent_scale_ = 1.0;
  bool text_pretrained_ = false;  // the text encoder's pretraining (stage 2a) is done
  std::vector<torch::Tensor> ema_;
  std::unique_ptr<torch::serialize::InputArchive> resumed_optimizer_;
  std::unique_ptr<std::ofstream> loss_log_;
};

}  // namespace

TrainResult run_training(const TrainOptions& options) {
  const int threads = options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  at::set_num_threads(std::max(1, threads));
  Training training(options);
  return training.run();
}

}  // namespace diffgraph::train
