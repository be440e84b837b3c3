#include "loading.hpp"

#include <mutex>

#include <torch/torch.h>

#include "model_files.hpp"
#include "models/safetensors.hpp"
#include "models/tensor_io.hpp"

namespace diffgraph::nodes {

namespace fs = std::filesystem;

namespace {

// Any loading failure is the user's file's problem: report it on the node.
template <class F>
auto as_node_error(const fs::path& path, F&& load) -> decltype(load()) {
  try {
    return load();
  } catch (const NodeError&) {
    throw;
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (what.find(path.string()) == std::string::npos) what = path.string() + ": " + what;
    throw NodeError(what);
  }
}

std::shared_ptr<const models::ClipTokenizer> default_tokenizer() {
  // Reading and indexing the 49k-merge vocabulary takes a moment; every CLIP shares one copy.
  static std::mutex mutex;
  static std::shared_ptr<const models::ClipTokenizer> tokenizer;
  std::lock_guard lock(mutex);
  if (!tokenizer) tokenizer = std::make_shared<models::ClipTokenizer>(models::ClipTokenizer::from_bpe_gz(default_clip_vocabulary()));
  return tokenizer;
}

sampling::DiscreteSchedule schedule_of(const models::CheckpointInfo& info) {
  if (!info.diffusers_folder && info.unet) {
    auto file = models::SafetensorsFile::open(info.unet->file);
    if (const auto* tensor = file.find("alphas_cumprod"))
      return sampling::DiscreteSchedule::from_alphas_cumprod(models::load_tensor(file, *tensor, torch::kFloat));
  }
  return sampling::DiscreteSchedule();
}

}  // namespace

models::CheckpointInfo inspect(const fs::path& path) {
  return as_node_error(path, [&] { return models::inspect_checkpoint(path); });
}

namespace {

// The model runtime reads SDXL checkpoints (U-Net with label_emb, CLIP-L and CLIP-G), but the
// nodes cannot yet give its U-Net the y vector and the two-encoder context it needs: refuse it
// here with the reason instead of failing at the first sampling step.
void require_samplable(const models::CheckpointInfo& info) {
  if (info.architecture.starts_with("sdxl"))
    throw NodeError(info.path.string() + " is an SDXL checkpoint (" + info.architecture +
                    "): diffgraph reads its networks, but sampling SDXL (CLIP-G and size conditioning) is "
                    "not available yet");
}

}  // namespace

std::shared_ptr<const DiffusionModel> load_diffusion_model(const models::CheckpointInfo& info,
                                                           const torch::TensorOptions& options,
                                                           const std::string& name) {
  return as_node_error(info.path, [&] {
    if (!info.unet) throw NodeError(info.path.string() + " holds no diffusion U-Net");
    require_samplable(info);
    auto model = std::make_shared<DiffusionModel>();
    model->unet = models::load_unet(info, options);
    model->unet->eval();
    model->schedule = schedule_of(info);
    model->prediction = sampling::prediction_from_name(info.prediction_type);
    model->options = models::model_options(options);
    model->name = name;
    return std::shared_ptr<const DiffusionModel>(std::move(model));
  });
}

std::shared_ptr<const TextEncoder> load_text_encoder(const models::CheckpointInfo& info,
                                                     const torch::TensorOptions& options, const std::string& name) {
  return as_node_error(info.path, [&] {
    if (!info.text_encoder) throw NodeError(info.path.string() + " holds no CLIP text encoder");
    require_samplable(info);
    auto encoder = std::make_shared<TextEncoder>();
    encoder->model = models::load_clip_text(info, options);
    encoder->model->eval();
    const fs::path tokenizer_dir = info.path / "tokenizer";
    std::error_code ec;
    if (info.diffusers_folder && fs::exists(tokenizer_dir / "vocab.json", ec) && fs::exists(tokenizer_dir / "merges.txt", ec))
      encoder->tokenizer = std::make_shared<models::ClipTokenizer>(
          models::ClipTokenizer::from_vocab_json(tokenizer_dir / "vocab.json", tokenizer_dir / "merges.txt"));
    else
      encoder->tokenizer = default_tokenizer();
    encoder->pad_id = info.text_encoder->config.naming == models::ClipNaming::OpenClip ? 0 : encoder->tokenizer->eos_id();
    encoder->default_clip_skip = info.default_clip_skip;
    encoder->options = models::model_options(options);
    encoder->name = name;
    return std::shared_ptr<const TextEncoder>(std::move(encoder));
  });
}

std::shared_ptr<const Autoencoder> load_autoencoder(const models::CheckpointInfo& info,
                                                    const torch::TensorOptions& options, const std::string& name) {
  return as_node_error(info.path, [&] {
    if (!info.vae) throw NodeError(info.path.string() + " holds no VAE");
    auto vae_options = options;
    if (options.device().is_cuda() && options.dtype() == torch::kHalf) vae_options = options.dtype(torch::kFloat);
    auto autoencoder = std::make_shared<Autoencoder>();
    autoencoder->vae = models::load_vae(info, vae_options);
    autoencoder->vae->eval();
    autoencoder->options = models::model_options(vae_options);
    autoencoder->name = name;
    return std::shared_ptr<const Autoencoder>(std::move(autoencoder));
  });
}

InputSpec model_name_input(const std::string& input_name) {
  return InputSpec::text(input_name, "")
      .describe("a checkpoint in the model folders (a .safetensors file or diffusers folder); empty = the "
                "embedded default model")
      .options_from([](const Environment& environment) { return list_models(environment); });
}

FingerprintFn model_file_fingerprint(const std::string& input_name) {
  return [input_name](const std::map<std::string, Literal>& literals, const Environment& environment) {
    auto it = literals.find(input_name);
    const std::string name = it != literals.end() && std::holds_alternative<std::string>(it->second)
                                 ? std::get<std::string>(it->second)
                                 : std::string();
    return model_fingerprint(environment, name);
  };
}

}  // namespace diffgraph::nodes
