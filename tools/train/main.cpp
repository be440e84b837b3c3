// diffgraph-train: trains the embedded default model (see trainer.hpp and README.md).
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "trainer.hpp"

int main(int argc, char** argv) {
  using diffgraph::train::ModelSizes;
  diffgraph::train::TrainOptions options;
  CLI::App app{"Trains diffgraph's embedded default model (a small SD1-layout latent diffusion model of coloured "
               "shapes) and writes it as one single-file safetensors checkpoint plus a sample grid."};
  std::string preset = "default";
  app.add_option("--preset", preset, "Model sizes: 'default' (the shipped model) or 'tiny' (seconds; tests)")
      ->check(CLI::IsMember({"default", "tiny"}))
      ->capture_default_str();
  app.add_option("--seed", options.seed, "Seed of every random draw")->capture_default_str();
  app.add_option("--vae-steps", options.vae_steps, "Steps of stage 1 (VAE)")->capture_default_str();
  app.add_option("--vae-batch", options.vae_batch, "Pictures per VAE step")->capture_default_str();
  app.add_option("--vae-lr", options.vae_lr, "VAE learning rate (AdamW, cosine decay)")->capture_default_str();
  app.add_option("--vae-kl-weight", options.vae_kl_weight, "Weight of the VAE's KL term")->capture_default_str();
  app.add_option("--diffusion-steps", options.diffusion_steps, "Steps of stage 2 (U-Net, after the text encoder's pretraining)")
      ->capture_default_str();
  app.add_option("--batch", options.diffusion_batch, "Pictures per diffusion step")->capture_default_str();
  app.add_option("--lr", options.unet_lr,
                 "U-Net learning rate (AdamW, cosine decay; the text encoder's: this times --text-encoder-lr-scale)")
      ->capture_default_str();
  app.add_option("--warmup", options.warmup_steps, "Linear learning-rate warm-up steps of each stage")
      ->capture_default_str();
  app.add_option("--caption-dropout", options.caption_dropout, "Probability of the empty prompt (for CFG)")
      ->capture_default_str();
  app.add_option("--caption-shape-noise", options.caption_shape_noise,
                 "Probability that a caption's shape word is drawn at random (noisy captions)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--ema", options.ema_decay, "EMA decay of the text encoder and U-Net weights (0 = none)")
      ->capture_default_str();
  app.add_option("--min-snr-gamma", options.min_snr_gamma, "Min-SNR loss weighting gamma (0 = plain MSE)")
      ->capture_default_str();
  app.add_option("--x0-weight-floor", options.x0_weight_floor,
                 "Floor of the loss weight in x0 terms (1 = the noisiest steps weighted like an x0 loss; 0 = none)")
      ->capture_default_str();
  app.add_option("--multires-noise", options.multires_noise,
                 "Discount of the multi-resolution training noise levels (0 = white noise)")
      ->capture_default_str();
  app.add_option("--latent-std", options.latent_std,
                 "Standard deviation of the scaled latents of the diffusion stage (sets the scale factor)")
      ->capture_default_str();
  app.add_option("--cross-attention-init-scale", options.cross_attention_init_scale,
                 "Factor on the initial cross-attention query/key weights (sharper attention from the start)")
      ->capture_default_str();
  app.add_option("--zero-init-transformer-outputs", options.zero_init_transformer_outputs,
                 "Start the U-Net transformers' proj_out at zero (true/false)")
      ->capture_default_str();
  app.add_option("--high-noise-fraction", options.high_noise_fraction,
                 "Fraction of pictures trained at timesteps >= 800, where only the caption tells the layout")
      ->capture_default_str();
  app.add_option("--text-encoder-lr-scale", options.text_encoder_lr_scale,
                 "Factor on the text encoder's learning rate in the diffusion stage (0 = frozen after its pretraining)")
      ->capture_default_str();
  app.add_option("--text-steps", options.text_steps,
                 "Steps of the text encoder's pretraining before the diffusion stage (0 = none)")
      ->capture_default_str();
  app.add_option("--text-batch", options.text_batch, "Captions per text pretraining step")->capture_default_str();
  app.add_option("--text-lr", options.text_lr, "Text pretraining learning rate (AdamW, cosine decay)")
      ->capture_default_str();
  app.add_option("--vae-from", options.vae_from,
                 "Take the VAE from this model file instead of training it (stage 1 skipped)");
  app.add_option("--threads", options.threads, "CPU threads (0 = every core)")->capture_default_str();
  app.add_option("-o,--output", options.output, "The model file to write")->capture_default_str();
  app.add_option("--samples", options.samples_png, "The sample grid PNG to write ('' = none)")->capture_default_str();
  app.add_option("--checkpoint-dir", options.checkpoint_dir, "Folder for periodic training checkpoints");
  app.add_option("--checkpoint-every", options.checkpoint_every, "Steps between checkpoints")->capture_default_str();
  app.add_flag("--resume", options.resume, "Continue from the latest checkpoint in --checkpoint-dir");
  app.add_option("--stop-after", options.stop_after,
                 "Stop after this many steps of both stages together, writing a checkpoint (0 = run to the end)")
      ->capture_default_str();
  app.add_option("--loss-log", options.loss_log, "Append one 'stage step loss' line per step to this file");
  app.add_option("--heldout", options.heldout_images, "Held-out pictures for the VAE PSNR and latent scale")
      ->capture_default_str();
  app.add_option("--grid-steps", options.grid_steps, "Euler steps of the sample grid")->capture_default_str();
  // Size overrides over the preset (0 = the preset's value), for experiments.
  std::int64_t vae_ch = 0, clip_width = 0, clip_layers = 0, unet_channels = 0;
  app.add_option("--vae-ch", vae_ch, "Override: VAE base width");
  app.add_option("--clip-width", clip_width, "Override: text encoder width (= U-Net context width)");
  app.add_option("--clip-layers", clip_layers, "Override: text encoder layers");
  app.add_option("--unet-channels", unet_channels, "Override: U-Net base width");
  std::vector<std::int64_t> unet_attention;
  app.add_option("--unet-attention", unet_attention,
                 "Override: downsampling factors of the U-Net levels with attention (e.g. 1,2,4)")
      ->delimiter(',');
  CLI11_PARSE(app, argc, argv);

  options.sizes = preset == "tiny" ? ModelSizes::tiny_model() : ModelSizes::default_model();
  if (vae_ch > 0) options.sizes.vae_ch = vae_ch;
  if (clip_width > 0) options.sizes.clip_width = clip_width;
  if (clip_layers > 0) options.sizes.clip_layers = clip_layers;
  if (unet_channels > 0) options.sizes.unet_channels = unet_channels;
  if (!unet_attention.empty()) options.sizes.unet_attention_resolutions = unet_attention;
  try {
    const auto result = diffgraph::train::run_training(options);
    if (!result.finished) {
      std::fprintf(stderr, "stopped after %lld steps (checkpoint written)\n",
                   static_cast<long long>(options.stop_after));
      return 0;
    }
    std::fprintf(stderr,
                 "done in %.0f s: VAE PSNR %.2f dB, latent scale %.5f, final losses vae %.5f diffusion %.5f, "
                 "model %ju bytes\n",
                 result.seconds, result.vae_psnr_db, result.latent_scale, result.final_vae_loss,
                 result.final_diffusion_loss, result.output_bytes);
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "diffgraph-train: %s\n", error.what());
    return 1;
  }
}
