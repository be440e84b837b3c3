// checkpoint.hpp — finding the components of a Stable Diffusion checkpoint, detecting their
// configurations, and loading them into the model modules.
//
// Two layouts are understood:
//  * a single .safetensors file in CompVis/LDM layout: U-Net under `model.diffusion_model.`,
//    VAE under `first_stage_model.`, text encoder under `cond_stage_model.transformer.text_model.`
//    (SD1, Hugging Face names) or `cond_stage_model.model.` (SD2, OpenCLIP names); also files
//    holding one component at the root (a standalone VAE or text encoder). The prefixes and the
//    keys that identify each are one table, single_file_layouts() in checkpoint.cpp;
//  * a diffusers folder: unet/diffusion_pytorch_model[.fp16].safetensors,
//    vae/diffusion_pytorch_model[.fp16].safetensors, text_encoder/model[.fp16].safetensors, each
//    with its config.json, and scheduler/scheduler_config.json. Diffusers names the U-Net and
//    VAE tensors differently (down_blocks.0.resnets.0.conv1 …); they are renamed to the CompVis
//    names on the fly, so both layouts load into the same modules.
//
// Configuration = detection from shapes, then the overrides: a diffusers config.json, then the
// checkpoint's own `__metadata__["diffgraph.config"]` (JSON with optional "text_encoder",
// "unet", "vae" sections in the from_json formats, and "prediction_type").
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

#include "clip_text_model.hpp"
#include "safetensors.hpp"
#include "unet.hpp"
#include "vae.hpp"
#include "weights.hpp"

namespace diffgraph::models {

/// The metadata key holding a JSON model config that overrides detection.
inline constexpr std::string_view kConfigMetadataKey = "diffgraph.config";

/// How a U-Net or VAE file names its tensors.
enum class KeyNaming {
  CompVis,    ///< the modules' own names (single-file LDM checkpoints)
  Diffusers,  ///< diffusers' names, renamed while loading
};

/// Where one component's tensors are and what it is.
template <class Config>
struct ComponentInfo {
  std::filesystem::path file;  ///< the .safetensors file holding it
  std::string prefix;          ///< key prefix inside that file ("" = the file's root)
  KeyNaming naming = KeyNaming::CompVis;  ///< U-Net/VAE key names (text encoders: config.naming)
  std::size_t tensor_count = 0;           ///< tensors under the prefix
  Config config;                          ///< detected, then overridden (see the file comment)
};

/// What inspect_checkpoint found.
struct CheckpointInfo {
  std::filesystem::path path;
  bool diffusers_folder = false;
  /// "sd1", "sd2", "sdxl", "sdxl_refiner" or "unknown": SDXL when there is a CLIP-G tower
  /// (the refiner has no CLIP-L) or a label-embedding U-Net, else from the text encoder (HF
  /// quick_gelu → sd1; OpenCLIP or gelu → sd2), else from the U-Net's projections/context width.
  std::string architecture = "unknown";
  /// "epsilon" or "v_prediction".
  std::string prediction_type = "epsilon";
  /// Where prediction_type came from. The keys cannot tell SD2's 768-v models from the 512
  /// eps base model, so without metadata, a `v_pred` marker tensor or a diffusers scheduler
  /// config this is the eps default, and the user must say v-prediction explicitly.
  std::string prediction_source = "default: the keys cannot tell v-prediction models apart";
  /// The text-encoder layer the architecture conditions on: 2 (penultimate) for SD2's
  /// 24-layer OpenCLIP encoder (FrozenOpenCLIPEmbedder), 1 otherwise (diffusers SD2 folders
  /// already drop the last layer).
  std::int64_t default_clip_skip = 1;
  /// The text encoder (SDXL base: CLIP-L, `conditioner.embedders.0.transformer.text_model.`).
  std::optional<ComponentInfo<ClipTextConfig>> text_encoder;
  /// SDXL's OpenCLIP ViT-bigG tower (`conditioner.embedders.1.model.`; the refiner's only text
  /// encoder, at `conditioner.embedders.0.model.`).
  std::optional<ComponentInfo<ClipTextConfig>> text_encoder_g;
  std::optional<ComponentInfo<UNetConfig>> unet;
  std::optional<ComponentInfo<VaeConfig>> vae;
  /// Every tensor of every file read.
  std::size_t tensor_count = 0;
  /// Tensors outside the components, by kind: "schedule" (LDM buffers), "ema" (model_ema.*),
  /// "other".
  std::map<std::string, std::size_t> other_tensors;
  /// Remarks for the user (unsupported layouts, unrecognised keys…).
  std::vector<std::string> notes;
};

/// Inspects a single .safetensors checkpoint or a diffusers folder: component prefixes/files,
/// configs, architecture and prediction type. Reads headers only. Throws SafetensorsError for
/// unreadable files and std::invalid_argument (naming the file) for malformed config JSON.
CheckpointInfo inspect_checkpoint(const std::filesystem::path& path);

/// The same for a key → shape list (a manifest) with optional `__metadata__`, as if it were a
/// single-file checkpoint at `path` (used in messages only).
CheckpointInfo inspect_shapes(const ShapeMap& shapes, const std::map<std::string, std::string>& metadata,
                              const std::filesystem::path& path);

/// A readable multi-line summary (the `diffgraph info` output).
std::string describe(const CheckpointInfo& info);

/// The options the loaders build modules with: the requested device (CPU by default) and dtype
/// (float32 by default). On the CPU, float16/bfloat16 become float32 since LibTorch's CPU
/// kernels compute in float32 (stored half weights are converted while loading).
torch::TensorOptions model_options(const torch::TensorOptions& requested);

/// Loads the component `info` describes, with its config. Throws std::invalid_argument when
/// the checkpoint has no such component, SafetensorsError listing missing/unexpected/mismatched
/// keys when the weights do not fit.
ClipTextModel load_clip_text(const CheckpointInfo& info, const torch::TensorOptions& options = {});
ClipTextModel load_clip_text_g(const CheckpointInfo& info, const torch::TensorOptions& options = {});
/// Loads a text encoder component (either of CheckpointInfo's).
ClipTextModel load_clip_text(const ComponentInfo<ClipTextConfig>& text, const torch::TensorOptions& options = {});
AutoencoderKL load_vae(const CheckpointInfo& info, const torch::TensorOptions& options = {});
UNetModel load_unet(const CheckpointInfo& info, const torch::TensorOptions& options = {});

/// Loads the text encoder under `prefix` of `file`: detection, then `config_override` (a
/// from_json object) merged over it.
ClipTextModel load_clip_text(const SafetensorsFile& file, std::string_view prefix,
                             const std::optional<nlohmann::json>& config_override,
                             const torch::TensorOptions& options = {});
/// Loads the CompVis-named VAE under `prefix` of `file` (detection + override as above).
AutoencoderKL load_vae(const SafetensorsFile& file, std::string_view prefix,
                       const std::optional<nlohmann::json>& config_override,
                       const torch::TensorOptions& options = {});

/// Diffusers-named tensors seen under the module's CompVis names.
struct KeyRenaming {
  /// CompVis name → shape as the module holds it (the input of detection).
  ShapeMap shapes;
  /// CompVis name → the stored tensor (and reshape) that fills it.
  std::map<std::string, WeightSource> sources;
  /// LoadWeightsOptions that read through `sources` (a copy of the map is captured).
  LoadWeightsOptions weight_options() const;
};

/// Renames a diffusers UNet2DConditionModel's tensors (prefix removed) to CompVis names:
/// time_embedding.linear_{1,2} → time_embed.{0,2}, conv_in → input_blocks.0.0,
/// down_blocks.i.{resnets,attentions}.j → input_blocks.(1+i·(n+1)+j).{0,1},
/// down_blocks.i.downsamplers.0.conv → input_blocks.(1+i·(n+1)+n).0.op, mid_block →
/// middle_block.{0,1,2}, up_blocks.i.{resnets,attentions}.j → output_blocks.(i·(n+1)+j).{0,1},
/// up_blocks.i.upsamplers.0.conv → output_blocks.(i·(n+1)+n).{1|2}.conv, conv_norm_out/conv_out
/// → out.{0,2}; inside ResBlocks norm1/conv1/time_emb_proj/norm2/conv2/conv_shortcut →
/// in_layers.0/in_layers.2/emb_layers.1/out_layers.0/out_layers.3/skip_connection
/// (n = res blocks per level). Keys it does not recognise keep their names.
KeyRenaming unet_keys_from_diffusers(const ShapeMap& diffusers);

/// Renames a diffusers AutoencoderKL's tensors to CompVis names: down_blocks.i.resnets.j →
/// down.i.block.j, downsamplers.0 → downsample, mid_block.{resnets.0,attentions.0,resnets.1} →
/// mid.{block_1,attn_1,block_2}, decoder.up_blocks.i → decoder.up.(L−1−i) (diffusers counts
/// from the lowest resolution), upsamplers.0 → upsample, conv_norm_out → norm_out,
/// conv_shortcut → nin_shortcut; attention group_norm/to_q|query/to_k|key/to_v|value/
/// to_out.0|proj_attn → norm/q/k/v/proj_out, with [C,C] linear weights seen as [C,C,1,1].
KeyRenaming vae_keys_from_diffusers(const ShapeMap& diffusers);

}  // namespace diffgraph::models
