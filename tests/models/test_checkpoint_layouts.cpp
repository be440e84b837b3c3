// test_checkpoint_layouts.cpp — the other key layouts load into the same modules: the tiny
// checkpoint of the fixtures rewritten as a diffusers folder, its text encoder in OpenCLIP
// names, and broken copies whose errors must list the offending keys.
//
// The CompVis → diffusers renaming below is written independently of the library's
// diffusers → CompVis renaming (unet_keys_from_diffusers, vae_keys_from_diffusers), so the
// round trip checks one against the other.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "models/checkpoint.hpp"
#include "support/fixtures.hpp"
#include "models/tensor_io.hpp"

namespace {

namespace fs = std::filesystem;
using namespace diffgraph::models;
using diffgraph::testing::FixtureCase;
using nlohmann::json;
using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

/// The checkpoint case with all three components (the tiny SD1 checkpoint), its file and configs.
struct TinyCheckpoint {
  fs::path file;
  std::map<std::string, std::string> prefix;  // component → prefix
  std::map<std::string, json> config;         // component → config
};

const TinyCheckpoint& tiny() {
  static const TinyCheckpoint checkpoint = [] {
    for (const auto& fixture : diffgraph::testing::fixture_cases("checkpoint")) {
      const json& components = fixture.entry.at("components");
      if (!components.contains("text_encoder") || !components.contains("unet") || !components.contains("vae")) continue;
      TinyCheckpoint result;
      result.file = fixture.file("data");
      for (const auto& [name, component] : components.items()) {
        result.prefix[name] = component.at("prefix");
        result.config[name] = fixture.config.at(json::json_pointer(component.at("config_pointer").get<std::string>()));
      }
      return result;
    }
    throw std::runtime_error("no checkpoint case with text_encoder, unet and vae in the fixtures");
  }();
  return checkpoint;
}

/// The tiny checkpoint inspected, with the case configs merged over detection (heads).
CheckpointInfo tiny_info() {
  CheckpointInfo info = inspect_checkpoint(tiny().file);
  info.text_encoder->config = ClipTextConfig::from_json(tiny().config.at("text_encoder"), info.text_encoder->config);
  info.unet->config = merge_unet_config(info.unet->config, tiny().config.at("unet"));
  info.vae->config = VaeConfig::from_json(tiny().config.at("vae"), info.vae->config);
  return info;
}

/// A fresh folder under the system temp dir, removed with the object.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("diffgraph_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

void write_json(const fs::path& path, const json& value) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << value.dump(2);
}

void save_in(const fs::path& path, const NamedTensors& tensors) {
  fs::create_directories(path.parent_path());
  save_tensors(path, tensors);
}

/// The tensors of `file` under `prefix`, prefix removed.
std::map<std::string, torch::Tensor> tensors_under(const SafetensorsFile& file, const std::string& prefix) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& info : file.tensors()) {
    if (info.name.starts_with(prefix)) out[info.name.substr(prefix.size())] = load_tensor(file, info);
  }
  return out;
}

std::vector<std::string> split(const std::string& key) {
  std::vector<std::string> parts;
  std::stringstream in(key);
  for (std::string part; std::getline(in, part, '.');) parts.push_back(part);
  return parts;
}

std::string join(const std::vector<std::string>& parts, std::size_t from) {
  std::string out;
  for (std::size_t i = from; i < parts.size(); ++i) out += (out.empty() ? "" : ".") + parts[i];
  return out;
}

std::string diffusers_resnet(const std::string& rest) {
  static const std::vector<std::pair<std::string, std::string>> names = {
      {"in_layers.0.", "norm1."}, {"in_layers.2.", "conv1."},  {"emb_layers.1.", "time_emb_proj."},
      {"out_layers.0.", "norm2."}, {"out_layers.3.", "conv2."}, {"skip_connection.", "conv_shortcut."}};
  for (const auto& [from, to] : names) {
    if (rest.starts_with(from)) return to + rest.substr(from.size());
  }
  throw std::runtime_error("unexpected ResBlock key " + rest);
}

/// CompVis U-Net key → diffusers key, for `blocks` ResBlocks per level.
std::string unet_to_diffusers(const std::string& key, std::int64_t blocks) {
  const auto p = split(key);
  const auto s = [](std::int64_t v) { return std::to_string(v); };
  if (p[0] == "time_embed") return std::string("time_embedding.linear_") + (p[1] == "0" ? "1." : "2.") + join(p, 2);
  if (p[0] == "out") return std::string(p[1] == "0" ? "conv_norm_out." : "conv_out.") + join(p, 2);
  if (p[0] == "input_blocks") {
    const std::int64_t n = std::stoll(p[1]);
    if (n == 0) return "conv_in." + join(p, 3);
    const std::int64_t level = (n - 1) / (blocks + 1), j = (n - 1) % (blocks + 1);
    const std::string stem = "down_blocks." + s(level) + ".";
    if (j == blocks) return stem + "downsamplers.0.conv." + join(p, 4);  // input_blocks.N.0.op.*
    if (p[2] == "0") return stem + "resnets." + s(j) + "." + diffusers_resnet(join(p, 3));
    return stem + "attentions." + s(j) + "." + join(p, 3);
  }
  if (p[0] == "middle_block") {
    if (p[1] == "1") return "mid_block.attentions.0." + join(p, 2);
    return "mid_block.resnets." + std::string(p[1] == "0" ? "0." : "1.") + diffusers_resnet(join(p, 2));
  }
  if (p[0] == "output_blocks") {
    const std::int64_t n = std::stoll(p[1]);
    const std::string stem = "up_blocks." + s(n / (blocks + 1)) + ".";
    const std::string j = s(n % (blocks + 1));
    if (p[2] == "0") return stem + "resnets." + j + "." + diffusers_resnet(join(p, 3));
    if (p[3] == "conv") return stem + "upsamplers.0.conv." + join(p, 4);
    return stem + "attentions." + j + "." + join(p, 3);
  }
  throw std::runtime_error("unexpected U-Net key " + key);
}

/// CompVis VAE key → diffusers key (current names: to_q/…/to_out.0, group_norm), for `levels` levels.
std::string vae_to_diffusers(const std::string& key, std::int64_t levels) {
  auto inner = [](std::string rest) {
    static const std::vector<std::pair<std::string, std::string>> names = {
        {"nin_shortcut.", "conv_shortcut."}, {"norm.", "group_norm."}, {"q.", "to_q."},
        {"k.", "to_k."},                     {"v.", "to_v."},          {"proj_out.", "to_out.0."}};
    for (const auto& [from, to] : names) {
      if (rest.starts_with(from)) return to + rest.substr(from.size());
    }
    return rest;
  };
  const auto p = split(key);
  if (p[0] != "encoder" && p[0] != "decoder") return key;  // quant_conv, post_quant_conv
  const std::string side = p[0] + ".";
  if (p[1] == "norm_out") return side + "conv_norm_out." + join(p, 2);
  if (p[1] == "mid") {
    if (p[2] == "attn_1") return side + "mid_block.attentions.0." + inner(join(p, 3));
    return side + "mid_block.resnets." + (p[2] == "block_1" ? "0." : "1.") + inner(join(p, 3));
  }
  if (p[1] == "down" || p[1] == "up") {
    const std::int64_t level = p[1] == "down" ? std::stoll(p[2]) : levels - 1 - std::stoll(p[2]);
    const std::string stem = side + (p[1] == "down" ? "down_blocks." : "up_blocks.") + std::to_string(level) + ".";
    if (p[3] == "block") return stem + "resnets." + p[4] + "." + inner(join(p, 5));
    if (p[3] == "attn") return stem + "attentions." + p[4] + "." + inner(join(p, 5));
    return stem + (p[1] == "down" ? "downsamplers.0." : "upsamplers.0.") + join(p, 4);
  }
  return key;  // conv_in, conv_out
}

void expect_same_parameters(torch::nn::Module& a, torch::nn::Module& b) {
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) {
    ASSERT_TRUE(pb.contains(item.key())) << item.key();
    EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
  }
}

torch::Tensor fixture_ids() {
  const auto cases = diffgraph::testing::fixture_cases("clip_text");
  if (cases.empty()) throw std::runtime_error("no clip_text case in the fixtures");
  const auto file = SafetensorsFile::open(cases[0].file(cases[0].entry.at("inputs").at("input_ids").get<std::string>()));
  return load_tensor(file, "input_ids");
}

// --- diffusers folder -------------------------------------------------------------------------

TEST(CheckpointLayoutsFixture, DiffusersFolderLoadsLikeTheSingleFile) {
  const TinyCheckpoint& source = tiny();
  const auto file = SafetensorsFile::open(source.file);
  const json& te = source.config.at("text_encoder");
  const json& unet = source.config.at("unet");
  const json& vae = source.config.at("vae");
  const std::int64_t blocks = unet.at("num_res_blocks");
  const std::int64_t vae_levels = vae.at("ddconfig").at("ch_mult").size();
  TempDir dir("diffusers_folder");

  // text_encoder: Hugging Face names under text_model., as transformers saves them.
  NamedTensors text;
  for (auto& [key, value] : tensors_under(file, source.prefix.at("text_encoder"))) text.emplace_back("text_model." + key, value);
  text.emplace_back("text_model.embeddings.position_ids", torch::arange(te.at("max_position_embeddings").get<std::int64_t>()).unsqueeze(0));
  save_in(dir.path / "text_encoder" / "model.safetensors", text);
  json te_config = te;
  te_config.erase("prefix");
  te_config.erase("naming");
  te_config["architectures"] = {"CLIPTextModel"};
  te_config["projection_dim"] = 768;  // transformers writes it even without a projection
  write_json(dir.path / "text_encoder" / "config.json", te_config);

  // unet: diffusers names, stored as fp16 variant.
  NamedTensors unet_tensors;
  for (auto& [key, value] : tensors_under(file, source.prefix.at("unet"))) unet_tensors.emplace_back(unet_to_diffusers(key, blocks), value);
  save_in(dir.path / "unet" / "diffusion_pytorch_model.fp16.safetensors", unet_tensors);
  const std::int64_t mc = unet.at("model_channels");
  json down_types = json::array(), up_types = json::array(), widths = json::array();
  const auto mult = unet.at("channel_mult").get<std::vector<std::int64_t>>();
  const auto attention = unet.at("attention_resolutions").get<std::vector<std::int64_t>>();
  for (std::size_t level = 0; level < mult.size(); ++level) {
    const bool attn = std::find(attention.begin(), attention.end(), std::int64_t{1} << level) != attention.end();
    down_types.push_back(attn ? "CrossAttnDownBlock2D" : "DownBlock2D");
    up_types.insert(up_types.begin(), attn ? "CrossAttnUpBlock2D" : "UpBlock2D");
    widths.push_back(mc * mult[level]);
  }
  write_json(dir.path / "unet" / "config.json",
             {{"_class_name", "UNet2DConditionModel"}, {"act_fn", "silu"}, {"attention_head_dim", unet.at("num_heads")},
              {"block_out_channels", widths}, {"center_input_sample", false},
              {"cross_attention_dim", unet.at("context_dim")}, {"down_block_types", down_types},
              {"downsample_padding", 1}, {"flip_sin_to_cos", true}, {"freq_shift", 0},
              {"in_channels", unet.at("in_channels")}, {"layers_per_block", blocks}, {"mid_block_scale_factor", 1},
              {"norm_eps", 1e-5}, {"norm_num_groups", 32}, {"out_channels", unet.at("out_channels")},
              {"sample_size", unet.at("image_size")}, {"up_block_types", up_types}});

  // vae: diffusers names, attention projections as [C,C] linear weights, loss.* dropped.
  NamedTensors vae_tensors;
  for (auto& [key, value] : tensors_under(file, source.prefix.at("vae"))) {
    if (key.starts_with("loss.")) continue;
    const std::string name = vae_to_diffusers(key, vae_levels);
    const bool linear = name.find(".attentions.") != std::string::npos && value.dim() == 4;
    vae_tensors.emplace_back(name, linear ? value.flatten(1) : value);
  }
  save_in(dir.path / "vae" / "diffusion_pytorch_model.safetensors", vae_tensors);
  const json& dd = vae.at("ddconfig");
  json vae_widths = json::array(), enc_types = json::array(), dec_types = json::array();
  for (const auto& m : dd.at("ch_mult")) {
    vae_widths.push_back(dd.at("ch").get<std::int64_t>() * m.get<std::int64_t>());
    enc_types.push_back("DownEncoderBlock2D");
    dec_types.push_back("UpDecoderBlock2D");
  }
  write_json(dir.path / "vae" / "config.json",
             {{"_class_name", "AutoencoderKL"}, {"act_fn", "silu"}, {"block_out_channels", vae_widths},
              {"down_block_types", enc_types}, {"up_block_types", dec_types}, {"in_channels", dd.at("in_channels")},
              {"out_channels", dd.at("out_ch")}, {"latent_channels", dd.at("z_channels")},
              {"layers_per_block", dd.at("num_res_blocks")}, {"norm_num_groups", 32},
              {"sample_size", dd.at("resolution")}, {"scaling_factor", vae.at("scale_factor")}});
  write_json(dir.path / "scheduler" / "scheduler_config.json",
             {{"_class_name", "EulerDiscreteScheduler"}, {"prediction_type", "v_prediction"}});
  write_json(dir.path / "model_index.json", {{"_class_name", "StableDiffusionPipeline"}});

  const CheckpointInfo single = tiny_info();
  const CheckpointInfo folder = inspect_checkpoint(dir.path);
  SCOPED_TRACE(describe(folder));
  EXPECT_TRUE(folder.diffusers_folder);
  EXPECT_EQ(folder.architecture, single.architecture);
  EXPECT_EQ(folder.prediction_type, "v_prediction");
  EXPECT_EQ(folder.prediction_source, "scheduler/scheduler_config.json");
  EXPECT_EQ(folder.tensor_count, text.size() + unet_tensors.size() + vae_tensors.size());
  ASSERT_TRUE(folder.text_encoder && folder.unet && folder.vae);
  EXPECT_EQ(folder.text_encoder->prefix, "text_model.");
  EXPECT_EQ(folder.unet->naming, KeyNaming::Diffusers);
  EXPECT_EQ(folder.vae->naming, KeyNaming::Diffusers);
  EXPECT_EQ(folder.text_encoder->config, single.text_encoder->config);
  EXPECT_EQ(folder.unet->config, single.unet->config)
      << folder.unet->config.to_json().dump() << "\n vs " << single.unet->config.to_json().dump();
  EXPECT_EQ(folder.vae->config, single.vae->config)
      << folder.vae->config.to_json().dump() << "\n vs " << single.vae->config.to_json().dump();

  torch::NoGradGuard no_grad;
  ClipTextModel text_a = load_clip_text(single), text_b = load_clip_text(folder);
  expect_same_parameters(*text_a, *text_b);
  const torch::Tensor ids = fixture_ids();
  EXPECT_TRUE(torch::equal(text_a->forward(ids).last_hidden_state, text_b->forward(ids).last_hidden_state));

  UNetModel unet_a = load_unet(single), unet_b = load_unet(folder);
  expect_same_parameters(*unet_a, *unet_b);
  torch::manual_seed(0);
  const std::int64_t size = unet.at("image_size");
  const torch::Tensor x = torch::randn({1, unet.at("in_channels").get<std::int64_t>(), size, size});
  const torch::Tensor t = torch::tensor({500}, torch::kLong);
  const torch::Tensor context = torch::randn({1, 77, unet.at("context_dim").get<std::int64_t>()});
  EXPECT_TRUE(torch::equal(unet_a->forward(x, t, context), unet_b->forward(x, t, context)));

  AutoencoderKL vae_a = load_vae(single), vae_b = load_vae(folder);
  expect_same_parameters(*vae_a, *vae_b);
  const std::int64_t res = dd.at("resolution");
  const torch::Tensor image = torch::rand({1, dd.at("in_channels").get<std::int64_t>(), res, res}) * 2 - 1;
  EXPECT_TRUE(torch::equal(vae_a->encode_moments(image), vae_b->encode_moments(image)));
  const torch::Tensor z = torch::randn({1, vae.at("embed_dim").get<std::int64_t>(), res / 2, res / 2});
  EXPECT_TRUE(torch::equal(vae_a->decode(z), vae_b->decode(z)));
}

TEST(CheckpointLayoutsFixture, OldDiffusersVaeAttentionNamesAreRenamed) {
  const ShapeMap old_names = {{"encoder.mid_block.attentions.0.query.weight", {8, 8}},
                              {"encoder.mid_block.attentions.0.key.bias", {8}},
                              {"encoder.mid_block.attentions.0.value.weight", {8, 8}},
                              {"encoder.mid_block.attentions.0.proj_attn.weight", {8, 8}},
                              {"decoder.mid_block.attentions.0.group_norm.weight", {8}},
                              {"decoder.up_blocks.0.upsamplers.0.conv.weight", {8, 8, 3, 3}},
                              {"decoder.up_blocks.1.resnets.2.conv_shortcut.bias", {8}}};
  const KeyRenaming renaming = vae_keys_from_diffusers(old_names);
  const ShapeMap expected = {{"encoder.mid.attn_1.q.weight", {8, 8, 1, 1}},
                             {"encoder.mid.attn_1.k.bias", {8}},
                             {"encoder.mid.attn_1.v.weight", {8, 8, 1, 1}},
                             {"encoder.mid.attn_1.proj_out.weight", {8, 8, 1, 1}},
                             {"decoder.mid.attn_1.norm.weight", {8}},
                             {"decoder.up.1.upsample.conv.weight", {8, 8, 3, 3}},
                             {"decoder.up.0.block.2.nin_shortcut.bias", {8}}};
  EXPECT_EQ(renaming.shapes, expected);
  EXPECT_TRUE(renaming.sources.at("encoder.mid.attn_1.q.weight").reshape);
  EXPECT_FALSE(renaming.sources.at("encoder.mid.attn_1.k.bias").reshape);
  EXPECT_EQ(renaming.sources.at("encoder.mid.attn_1.q.weight").key, "encoder.mid_block.attentions.0.query.weight");
}

// --- OpenCLIP names and metadata config -------------------------------------------------------

TEST(CheckpointLayoutsFixture, OpenClipNamesLoadIntoTheSameModule) {
  const TinyCheckpoint& source = tiny();
  const auto file = SafetensorsFile::open(source.file);
  const json& te = source.config.at("text_encoder");
  const std::int64_t layers = te.at("num_hidden_layers"), width = te.at("hidden_size");
  auto hf = tensors_under(file, source.prefix.at("text_encoder"));
  TempDir dir("openclip");

  // openai/OpenCLIP names under SD2's prefix; q,k,v fused row-wise into in_proj.
  const std::string prefix = "cond_stage_model.model.";
  NamedTensors tensors = {{prefix + "token_embedding.weight", hf.at("embeddings.token_embedding.weight")},
                          {prefix + "positional_embedding", hf.at("embeddings.position_embedding.weight")},
                          {prefix + "ln_final.weight", hf.at("final_layer_norm.weight")},
                          {prefix + "ln_final.bias", hf.at("final_layer_norm.bias")},
                          {prefix + "text_projection", torch::randn({width, width + 3}).to(torch::kFloat16)},
                          {prefix + "logit_scale", torch::tensor(4.6f)}};
  for (std::int64_t i = 0; i < layers; ++i) {
    const std::string from = "encoder.layers." + std::to_string(i) + ".";
    const std::string to = prefix + "transformer.resblocks." + std::to_string(i) + ".";
    for (const std::string leaf : {"weight", "bias"}) {
      tensors.emplace_back(to + "attn.in_proj_" + leaf,
                           torch::cat({hf.at(from + "self_attn.q_proj." + leaf), hf.at(from + "self_attn.k_proj." + leaf),
                                       hf.at(from + "self_attn.v_proj." + leaf)}));
      tensors.emplace_back(to + "attn.out_proj." + leaf, hf.at(from + "self_attn.out_proj." + leaf));
      tensors.emplace_back(to + "ln_1." + leaf, hf.at(from + "layer_norm1." + leaf));
      tensors.emplace_back(to + "ln_2." + leaf, hf.at(from + "layer_norm2." + leaf));
      tensors.emplace_back(to + "mlp.c_fc." + leaf, hf.at(from + "mlp.fc1." + leaf));
      tensors.emplace_back(to + "mlp.c_proj." + leaf, hf.at(from + "mlp.fc2." + leaf));
    }
  }
  // The tiny encoder is quick_gelu with 2 heads: neither is visible in shapes, and OpenCLIP
  // names imply gelu, so the checkpoint's own config must override detection.
  const json override_config = {
      {"text_encoder", {{"hidden_act", te.at("hidden_act")}, {"num_attention_heads", te.at("num_attention_heads")}}},
      {"prediction_type", "v"}};
  const fs::path path = dir.path / "openclip.safetensors";
  save_tensors(path, tensors, {{std::string(kConfigMetadataKey), override_config.dump()}});

  const CheckpointInfo info = inspect_checkpoint(path);
  SCOPED_TRACE(describe(info));
  ASSERT_TRUE(info.text_encoder.has_value());
  EXPECT_EQ(info.text_encoder->prefix, prefix);
  EXPECT_EQ(info.text_encoder->config.naming, ClipNaming::OpenClip);
  EXPECT_EQ(info.text_encoder->config.projection_dim, width + 3);
  EXPECT_EQ(info.architecture, "sd2");
  EXPECT_EQ(info.default_clip_skip, 2);
  EXPECT_EQ(info.prediction_type, "v_prediction");
  ClipTextConfig expected = tiny_info().text_encoder->config;
  expected.naming = ClipNaming::OpenClip;
  expected.projection_dim = width + 3;
  EXPECT_EQ(info.text_encoder->config, expected);

  torch::NoGradGuard no_grad;
  ClipTextModel openclip = load_clip_text(info);
  ClipTextModel reference = load_clip_text(tiny_info());
  for (const auto& item : reference->named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value(), openclip->named_parameters()[item.key()])) << item.key();
  }
  const torch::Tensor ids = fixture_ids();
  const ClipTextOutput a = openclip->forward(ids), b = reference->forward(ids);
  EXPECT_TRUE(torch::equal(a.last_hidden_state, b.last_hidden_state));
  ASSERT_TRUE(a.pooled_projected.defined());
  EXPECT_FALSE(b.pooled_projected.defined());
  EXPECT_TRUE(torch::allclose(a.pooled_projected, torch::matmul(a.pooled, openclip->text_projection)));
}

// --- errors -----------------------------------------------------------------------------------

std::string load_error(const CheckpointInfo& info) {
  try {
    load_vae(info);
  } catch (const SafetensorsError& error) {
    return error.what();
  }
  return "";
}

TEST(CheckpointLayoutsFixture, MissingUnexpectedAndMisshapenKeysAreListed) {
  const TinyCheckpoint& source = tiny();
  const auto file = SafetensorsFile::open(source.file);
  const std::string prefix = source.prefix.at("vae");
  TempDir dir("broken");
  const std::string dropped = prefix + "decoder.conv_out.bias";
  const std::string extra = prefix + "decoder.surprise.weight";
  const std::string misshapen = prefix + "quant_conv.bias";

  NamedTensors tensors;
  for (auto& [key, value] : tensors_under(file, prefix)) {
    if (prefix + key == dropped) continue;
    tensors.emplace_back(prefix + key, prefix + key == misshapen ? torch::cat({value, value}) : value);
  }
  tensors.emplace_back(extra, torch::zeros({3}));
  tensors.emplace_back(prefix + "loss.discriminator.main.0.weight", torch::zeros({2}));  // ignored
  const fs::path path = dir.path / "broken.safetensors";
  save_tensors(path, tensors);

  CheckpointInfo info = inspect_checkpoint(path);
  ASSERT_TRUE(info.vae.has_value());
  const std::string message = load_error(info);
  ASSERT_FALSE(message.empty()) << "loading a broken VAE did not throw";
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  EXPECT_NE(message.find("missing keys (1)"), std::string::npos) << message;
  EXPECT_NE(message.find(dropped), std::string::npos) << message;
  EXPECT_NE(message.find("unexpected keys (1)"), std::string::npos) << message;
  EXPECT_NE(message.find(extra), std::string::npos) << message;
  EXPECT_NE(message.find("shape mismatches (1)"), std::string::npos) << message;
  EXPECT_NE(message.find(misshapen), std::string::npos) << message;
  EXPECT_EQ(message.find("loss."), std::string::npos) << message;
}

TEST(CheckpointLayoutsFixture, ConfigErrorsNameTheField) {
  const auto expect_error = [](auto&& parse, const std::string& field) {
    try {
      parse();
      ADD_FAILURE() << "no error for a bad '" << field << "'";
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find(field), std::string::npos) << error.what();
    }
  };
  expect_error([] { ClipTextConfig::from_json({{"hidden_size", "wide"}}); }, "hidden_size");
  expect_error([] { ClipTextConfig::from_json({{"hidden_act", "relu"}}); }, "relu");
  expect_error([] { ClipTextConfig::from_json({{"num_attention_heads", 5}}); }, "heads");
  expect_error([] { VaeConfig::from_json({{"ddconfig", {{"ch_mult", {1, -2}}}}}); }, "ch_mult");
  expect_error([] { VaeConfig::from_json({{"ddconfig", {{"attn_resolutions", {16}}}}}); }, "resolution");
  expect_error([] { detect_vae_config({{"encoder.conv_in.weight", {8, 3, 3, 3}}}); }, "decoder.conv_in.weight");
  expect_error([] { detect_clip_text_config({{"foo", {1}}}); }, "token_embedding");

  // CompVis attn_resolutions become levels; diffusers names are understood.
  const VaeConfig compvis = VaeConfig::from_json(
      {{"ddconfig", {{"ch", 64}, {"ch_mult", {1, 2, 4}}, {"resolution", 256}, {"attn_resolutions", {128, 64}}}}});
  EXPECT_EQ(compvis.attention_levels, (std::vector<std::int64_t>{1, 2}));
  const VaeConfig diffusers = VaeConfig::from_json(
      {{"block_out_channels", {128, 256, 512, 512}}, {"layers_per_block", 2}, {"latent_channels", 4}, {"scaling_factor", 0.13025}});
  EXPECT_EQ(diffusers.ch, 128);
  EXPECT_EQ(diffusers.ch_mult, (std::vector<std::int64_t>{1, 2, 4, 4}));
  EXPECT_EQ(diffusers.embed_dim, 4);
  EXPECT_DOUBLE_EQ(diffusers.scale_factor, 0.13025);
  EXPECT_EQ(VaeConfig::from_json(diffusers.to_json()), diffusers);
  const ClipTextConfig clip = ClipTextConfig::from_json({{"width", 1024}, {"heads", 16}, {"layers", 24}, {"mlp_ratio", 4.0}});
  EXPECT_EQ(clip.mlp_width, 4096);
  EXPECT_EQ(ClipTextConfig::from_json(clip.to_json()), clip);
}

TEST(CheckpointLayoutsFixture, LongPromptsAreEncodedPerWindow) {
  torch::NoGradGuard no_grad;
  ClipTextModel model = load_clip_text(tiny_info());
  const torch::Tensor ids = fixture_ids();
  const std::int64_t window = model->config.max_positions;
  const torch::Tensor first = ids.narrow(0, 0, 1), second = ids.narrow(0, 2, 1);
  const ClipTextOutput out = model->encode_long(torch::cat({first, second}, 1), /*clip_skip=*/2);
  ASSERT_EQ(out.hidden.size(1), 2 * window);
  EXPECT_TRUE(torch::equal(out.hidden.narrow(1, 0, window), model->forward(first, 2).hidden));
  EXPECT_TRUE(torch::equal(out.hidden.narrow(1, window, window), model->forward(second, 2).hidden));
  EXPECT_TRUE(torch::equal(out.pooled, model->forward(first).pooled));
  EXPECT_THROW(model->encode_long(ids.narrow(1, 0, window - 1)), std::invalid_argument);
  EXPECT_THROW(model->forward(torch::cat({first, second}, 1)), std::invalid_argument);
  EXPECT_THROW(model->forward(first, model->config.layers + 1), std::invalid_argument);
}

TEST(CheckpointLayoutsFixture, DescribeSummarisesTheCheckpoint) {
  const CheckpointInfo info = inspect_checkpoint(tiny().file);
  const std::string text = describe(info);
  EXPECT_NE(text.find("architecture: sd1"), std::string::npos) << text;
  EXPECT_NE(text.find(tiny().prefix.at("unet")), std::string::npos) << text;
  EXPECT_NE(text.find("schedule"), std::string::npos) << text;
  EXPECT_EQ(info.prediction_type, "epsilon");
  EXPECT_THROW(inspect_checkpoint(tiny().file.parent_path() / "nope.ckpt"), SafetensorsError);
}

}  // namespace
