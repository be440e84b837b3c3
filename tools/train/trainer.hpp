// trainer.hpp — trains the embedded default model (issue #6): a small Stable-Diffusion-1-layout
// latent diffusion model (KL-VAE, CLIP text encoder, U-Net with cross-attention) on procedurally
// drawn pictures of coloured shapes (diffgraph::shapes), and writes it as one single-file SD1
// checkpoint whose metadata carries the model config.
//
// Stage 1 trains the VAE alone (L1 + L2 reconstruction, a small KL term) and then measures the
// latent scale factor (1 / std of the latents) on fresh pictures. Stage 2 freezes the VAE; it
// first pretrains the text encoder on the captions alone (a probe on its output must name every
// attribute, see TrainOptions::text_steps), then trains the U-Net on that text encoder (frozen by
// default, as SD trains on a frozen pretrained CLIP; TrainOptions::text_encoder_lr_scale trains
// both jointly): epsilon prediction on the SD1 noise schedule, captions dropped to the empty
// prompt with some probability (for classifier-free guidance), AdamW, an exponential moving
// average of the text encoder and U-Net weights (the average is what gets exported).
//
// Reproducible: every random draw comes from two generators seeded by `seed` (the scenes, caption
// noise and dropout from a std::mt19937_64, the weights' initialisation, the diffusion noise,
// timesteps and posterior samples from a torch CPU generator). With a fixed thread count the
// same seed and step counts give the same loss curve, and a run resumed from a checkpoint
// continues it exactly (the checkpoint holds the weights, the optimizer states, both generators,
// the stage and step).
//
// This header is torch-free so the command-line front end compiles quickly.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace diffgraph::train {

/// First timestep of the high-noise range of TrainOptions::high_noise_fraction.
inline constexpr std::int64_t kHighNoiseFirstStep = 800;

/// Model sizes. `default_model()` is the shipped model; `tiny_model()` trains in seconds (tests).
struct ModelSizes {
  // VAE (CompVis AutoencoderKL layout): 64×64 RGB → (64 / 2^(levels−1))² × 4 latent.
  std::int64_t vae_ch = 16;
  std::vector<std::int64_t> vae_ch_mult{1, 2, 4, 4};
  std::int64_t vae_res_blocks = 1;
  std::int64_t vae_norm_groups = 4;   ///< ≥ 4 channels per group: one channel per group erases colour
  // CLIP text encoder (Hugging Face CLIPTextModel layout, real 49408-token vocabulary).
  std::int64_t clip_width = 64;
  std::int64_t clip_layers = 3;
  std::int64_t clip_heads = 4;
  // U-Net (CompVis openaimodel layout, SD1 flavour: conv projections, fixed head count).
  std::int64_t unet_channels = 64;
  std::vector<std::int64_t> unet_channel_mult{1, 2, 2};
  std::vector<std::int64_t> unet_attention_resolutions{2, 4};
  std::int64_t unet_res_blocks = 2;
  std::int64_t unet_heads = 4;
  std::int64_t unet_norm_groups = 16;

  static ModelSizes default_model();
  static ModelSizes tiny_model();
};

/// Everything a training run needs.
struct TrainOptions {
  std::uint64_t seed = 1;
  ModelSizes sizes;
  int image_size = 64;

  std::int64_t vae_steps = 1200;
  std::int64_t vae_batch = 16;
  double vae_lr = 1e-3;
  double vae_kl_weight = 1e-5;  ///< weight of the per-element KL term against L1 + L2

  std::int64_t diffusion_steps = 1900;
  std::int64_t diffusion_batch = 32;  ///< 32 gave 1.9× the optimizer steps of 64 at 93 % of its images/s
  double unet_lr = 8e-4;
  std::int64_t warmup_steps = 50;    ///< linear learning-rate warm-up of each stage
  double caption_dropout = 0.1;      ///< probability of training on the empty prompt
  /// Probability that a diffusion-stage caption's shape word is drawn at random (any of the four,
  /// the right one included) instead of naming the drawn shape: noisy captions, as SD's web
  /// captions are, meant to leave the unguided model unsure of the shape and guidance to settle
  /// it (issue #6's CFG gap). It does not here: at 0.6 a full run learned no shape at all (large
  /// shapes' type 40 % at CFG 1, 34 % at CFG 5; tools/train/README.md). 0 (the default) = captions
  /// always right; no random draw is made then, so such runs keep the data stream they had.
  double caption_shape_noise = 0.0;
  double ema_decay = 0.995;          ///< 0 disables the average (the raw weights are exported)
  double min_snr_gamma = 5.0;        ///< Min-SNR loss weighting (0 = plain MSE)
  /// Floor of the loss weight in x0 terms: the ε loss is weighted max(min(SNR, γ), floor) / SNR.
  /// ε-MSE equals SNR × x0-MSE, so at t ≈ 999 (SNR 0.005) an unweighted ε loss barely rewards a
  /// right layout, and the layout is all the prompt decides there; a floor of 1 weights those
  /// timesteps like an x0 (or v-prediction) loss. 0 = Min-SNR alone.
  double x0_weight_floor = 0.0;
  /// Multi-resolution ("pyramid") training noise: white noise plus the same noise drawn at half,
  /// quarter, … resolution (down to 1×1) and upsampled, level i weighted discount^i. An 8×8
  /// latent leaks its coarse structure through white noise even at t = 999 (ᾱ = 0.0047 against
  /// a noise mean with std 1/8), so with white noise the model reads the background colour and
  /// the shape's position off the noise instead of the prompt, and at inference the random
  /// initial noise picks them. The sum is not rescaled (as with offset noise): its white part
  /// keeps the unit variance the samplers' white noise has, so the model learns to remove as
  /// much fine noise as inference gives it (rescaled to unit variance, the samples kept
  /// blotches of unremoved noise). 0 = white noise, the default since the text encoder is
  /// pretrained: the model then takes the layout from the caption, not from the noise (600 steps,
  /// CFG 5: position 100 % with white noise, 25 % with discount 0.8; tools/train/README.md).
  double multires_noise = 0.0;
  /// Standard deviation of the latents the diffusion stage sees (the latent scale factor is
  /// latent_std / the VAE latents' std). Below 1 it lowers the signal-to-noise ratio at every
  /// timestep of the fixed SD1 schedule ("input scaling", Chen 2023).
  double latent_std = 1.0;
  /// Factor on the initial cross-attention query and key weights. With the default
  /// initialisation the logits start with std ≈ 0.33, attention over the 77 caption tokens is
  /// nearly uniform, and the keys get little gradient; a larger scale starts it sharper.
  double cross_attention_init_scale = 1.0;
  /// Start each spatial transformer's proj_out at zero (CompVis' zero_module), so the block
  /// starts as the identity. Off by default (diffusers' initialisation): from zero, in the few
  /// thousand steps this training has, the transformers' inner weights got almost no gradient and
  /// the U-Net's output hardly depended on the caption's words (trained on position alone for
  /// 300 steps: a wrong position changed the noise prediction by 8·10⁻⁴, a random context by
  /// 1.3·10⁻²; without the zero start 0.26 and 0.18).
  bool zero_init_transformer_outputs = false;
  /// Fraction of training pictures whose timestep is drawn from [kHighNoiseFirstStep, 999]
  /// instead of [0, 999]. Above t ≈ 800 a large shape's latent signature (energy ≈ 120 over the
  /// 8×8×4 latent) is below the noise, so only the caption can say where the shape goes: these
  /// are the timesteps that teach position. 0 = uniform timesteps.
  double high_noise_fraction = 0.0;
  /// Factor on the text encoder's learning rate (the U-Net's is unet_lr). Trained at the full rate,
  /// the text encoder learns the colour words first and then amplifies them until, after its
  /// final LayerNorm, everything else is a rounding error: in the shipped 1900-step models a
  /// caption with another shape word gave end-of-text tokens 0.3–0.5 % different (a freshly
  /// initialised encoder: 12 %), so the U-Net could not learn shapes or positions from them
  /// (tools/train/README.md). 0 (the default) freezes it: at its pretrained state when text_steps
  /// > 0, else at its initialisation.
  double text_encoder_lr_scale = 0.0;
  /// Steps of the text encoder's pretraining, run before the diffusion stage (0 = none). It trains
  /// the text encoder alone on captions, with a linear probe on the mean of its 77 output tokens
  /// (what a uniform cross-attention reads) that must name every attribute: background, shape
  /// colour, shape, size and position (the last two with a "not stated" class). Like SD's
  /// pretrained CLIP, the U-Net then meets a context where every word of the caption is
  /// distinguishable from the first step; trained only by the diffusion loss, the encoder
  /// amplified the colour words until position and shape changed the context by < 1 %.
  std::int64_t text_steps = 300;
  std::int64_t text_batch = 64;  ///< captions per text pretraining step
  double text_lr = 1e-3;          ///< text pretraining learning rate (AdamW, cosine decay)
  double weight_decay = 0.01;
  double grad_clip = 1.0;

  int threads = 0;  ///< 0 = every core

  std::filesystem::path output = "models/diffgraph-shapes.safetensors";
  std::filesystem::path samples_png = "docs/shapes-samples.png";  ///< empty: no grid
  std::filesystem::path checkpoint_dir;  ///< empty: no checkpoints
  std::int64_t checkpoint_every = 200;   ///< steps (either stage) between checkpoints
  bool resume = false;                   ///< continue from checkpoint_dir's checkpoint
  /// Stop (after writing a checkpoint) once this many steps of both stages together are done,
  /// without exporting: simulates an interrupted run. 0 = run to the end.
  std::int64_t stop_after = 0;
  std::filesystem::path loss_log;  ///< when set: one "stage step loss" line per step (appended)
  /// When set: take the VAE from this single-file checkpoint (first_stage_model.*) instead of
  /// training it; stage 1 only measures the PSNR and the latent scale.
  std::filesystem::path vae_from;
  std::int64_t heldout_images = 256;   ///< pictures for the VAE PSNR and the scale factor
  std::vector<double> grid_cfg_scales{1.0, 3.0, 5.0, 8.0};
  std::int64_t grid_steps = 20;
};

/// What a finished run reports.
struct TrainResult {
  bool finished = false;  ///< false when stopped early by stop_after
  double vae_psnr_db = 0;
  double latent_scale = 0;
  double final_vae_loss = 0;        ///< smoothed, last step of stage 1
  double final_diffusion_loss = 0;  ///< smoothed, last step of stage 2
  double seconds = 0;
  std::uintmax_t output_bytes = 0;
};

/// Runs (or resumes) the training described by `options`. Progress goes to stderr. Throws
/// std::runtime_error / std::invalid_argument with a message naming the file or option at fault.
TrainResult run_training(const TrainOptions& options);

}  // namespace diffgraph::train
