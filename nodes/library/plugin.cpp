// The diffusion node library's entry point: its value types and file inspector; every node file
// registers its own node (DIFFGRAPH_NODE).
#include <diffgraph/plugin.hpp>

#include <map>
#include <optional>
#include <iomanip>
#include <sstream>

#include "models/checkpoint.hpp"
#include "models/safetensors.hpp"

namespace diffgraph::nodes {

namespace {

// `diffgraph info`: checkpoints (single-file .safetensors, diffusers folders) described by the
// model runtime. A .safetensors file without a U-Net, text encoder or VAE (a LoRA, an
// embedding) is left to other inspectors.
std::optional<std::string> describe_checkpoint(const std::filesystem::path& path) {
  std::error_code ec;
  const bool folder = std::filesystem::is_directory(path, ec);
  if (!folder && path.extension() != ".safetensors") return std::nullopt;
  const models::CheckpointInfo info = models::inspect_checkpoint(path);
  if (!folder && !info.unet && !info.text_encoder && !info.vae) return std::nullopt;
  return models::describe(info);
}

// Any other .safetensors file (a LoRA, an embedding, tensors): its header. Metadata values can
// be whole JSON configs, so each shows its start.
std::optional<std::string> describe_safetensors(const std::filesystem::path& path) {
  constexpr std::size_t kMaxMetadataChars = 200;
  if (path.extension() != ".safetensors") return std::nullopt;
  const auto file = models::SafetensorsFile::open(path);
  std::map<std::string, std::size_t> dtype_counts;
  std::uint64_t bytes = 0;
  std::int64_t parameters = 0;
  for (const auto& tensor : file.tensors()) {
    ++dtype_counts[std::string(models::dtype_name(tensor.dtype))];
    bytes += tensor.byte_size();
    parameters += tensor.numel();
  }
  std::ostringstream out;
  out << "file: " << path.string() << "\n";
  out << "tensors: " << file.tensors().size() << " (" << parameters << " parameters, " << std::fixed
      << std::setprecision(1) << static_cast<double>(bytes) / (1024.0 * 1024.0) << " MiB)\n";
  out << "dtypes:";
  for (const auto& [dtype, count] : dtype_counts) out << " " << dtype << " x" << count;
  out << "\nmetadata: " << (file.metadata().empty() ? "none" : std::to_string(file.metadata().size()) + " entries") << "\n";
  for (const auto& [key, value] : file.metadata()) {
    const bool cut = value.size() > kMaxMetadataChars;
    out << "  " << key << ": " << (cut ? value.substr(0, kMaxMetadataChars) + "..." : value) << "\n";
  }
  out << "architecture: none recognised (no U-Net, text encoder or VAE)\n";
  return out.str();
}

}  // namespace

}  // namespace diffgraph::nodes

DIFFGRAPH_PLUGIN(registrar) {
  using diffgraph::TypeInfo;
  registrar.set_info("diffusion", "0.1.0",
                     "Stable Diffusion nodes: loaders, text encoding, sampling, VAE, latents, images and masks");
  // Colours follow ComfyUI's, so users recognise the links.
  registrar.add_type({"MODEL", {180, 160, 255}, "a diffusion U-Net with its noise schedule"});
  registrar.add_type({"CLIP", {255, 210, 60}, "a CLIP text encoder with its tokenizer"});
  registrar.add_type({"VAE", {255, 110, 110}, "a KL autoencoder between pixels and latents"});
  registrar.add_type({"CONDITIONING", {255, 160, 50}, "text encodings that guide sampling"});
  registrar.add_type({"LATENT", {255, 140, 190}, "latent images [B,C,H/8,W/8], optionally with a noise mask"});
  registrar.add_type({"IMAGE", {100, 180, 230}, "images [B,H,W,3] in [0,1]"});
  registrar.add_type({"MASK", {120, 200, 120}, "masks [B,H,W] in [0,1]"});
  registrar.add_type({"NOISE", {200, 200, 200}, "a seeded noise source"});
  registrar.add_type({"SIGMAS", {140, 220, 200}, "a noise-level schedule"});
  registrar.add_type({"SAMPLER", {240, 180, 220}, "a sampling algorithm"});
  registrar.add_type({"SAMPLER_STATE", {150, 150, 200}, "a sampler run between unrolled steps"});
  registrar.add_type({"GUIDER", {170, 140, 120}, "a model with its conditioning and CFG scale"});
  // Asked in this order: a checkpoint first, else any safetensors file's header.
  registrar.add_file_inspector({"checkpoint", "Stable Diffusion checkpoints: single-file .safetensors, diffusers folders",
                                diffgraph::nodes::describe_checkpoint});
  registrar.add_file_inspector({"safetensors", "any .safetensors file: tensors, dtypes, metadata",
                                diffgraph::nodes::describe_safetensors});
}
