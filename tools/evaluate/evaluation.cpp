#include "evaluation.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "sampling/noise.hpp"
#include "sampling/sampling_plan.hpp"
#include "pipeline/denoising.hpp"
#include "pipeline/image_io.hpp"
#include "pipeline/loading.hpp"

namespace diffgraph::evaluate {

namespace fs = std::filesystem;

namespace {

// Renders scenes as a uint8 [N, side, side, 3] batch.
torch::Tensor render_scenes(std::span<const shapes::Scene> scenes, int side) {
  auto pictures = torch::empty({static_cast<std::int64_t>(scenes.size()), side, side, 3}, torch::kUInt8);
  const auto bytes = static_cast<std::size_t>(side) * static_cast<std::size_t>(side) * 3;
  for (std::size_t i = 0; i < scenes.size(); ++i)
    shapes::render(scenes[i], side, {pictures.data_ptr<std::uint8_t>() + i * bytes, bytes});
  return pictures;
}

void count(Tally& tally, bool correct) {
  tally.correct += correct;
  tally.total += 1;
}

nlohmann::json tally_json(const Tally& t) {
  return {{"percent", t.percent()}, {"correct", t.correct}, {"total", t.total}};
}

}  // namespace

bool Tally::meets(double fraction) const {
  return total - correct <= static_cast<int>(std::lround((1.0 - fraction) * total));
}

ShapesModel load_model(const fs::path& checkpoint) {
  std::error_code ec;
  if (!fs::exists(checkpoint, ec)) throw std::runtime_error(checkpoint.string() + ": no such checkpoint");
  // CheckpointLoaderSimple's path: inspect, then the three loaders (CPU, float32).
  const models::CheckpointInfo info = nodes::inspect(checkpoint);
  const auto options = torch::TensorOptions().dtype(torch::kFloat);
  const std::string name = checkpoint.filename().string();
  return {nodes::load_diffusion_model(info, options, name), nodes::load_text_encoder(info, options, name),
          nodes::load_autoencoder(info, options, name)};
}

std::vector<Prompt> make_prompts(int count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Prompt> prompts;
  for (int i = 0; i < count; ++i) {
    shapes::Scene scene = shapes::random_scene(rng);
    if (i % 2 == 0) scene.size_stated = scene.position_stated = true;
    prompts.push_back({scene, shapes::caption(scene), rng()});
  }
  return prompts;
}

namespace {

// The captions encoded as the graphs encode a prompt (the model's default clip skip): [N, 77, width].
torch::Tensor encode_texts(const ShapesModel& model, std::span<const std::string> captions) {
  std::vector<torch::Tensor> contexts;
  for (const std::string& caption : captions)
    contexts.push_back(model.text->encode(caption, model.text->default_clip_skip).context);
  return torch::cat(contexts);
}

}  // namespace

torch::Tensor encode_captions(const ShapesModel& model, std::span<const Prompt> prompts) {
  std::vector<std::string> captions;
  for (const Prompt& prompt : prompts) captions.push_back(prompt.caption);
  return encode_texts(model, captions);
}

torch::Tensor generate(const ShapesModel& model, std::span<const Prompt> prompts, const torch::Tensor& contexts,
                       double cfg, const SamplingSettings& settings) {
  const nodes::DiffusionModel& diffusion = *model.diffusion;
  const std::int64_t cell = model.vae->downscale();
  if (settings.side % cell != 0)
    throw std::invalid_argument(fmt::format("the picture side {} is not a multiple of the VAE's {}", settings.side, cell));
  const std::int64_t latent_side = settings.side / cell;
  const std::int64_t channels = diffusion.unet->config().in_channels;
  const auto sampler = nodes::sampler_named(settings.sampler);
  const auto sigmas =
      sampling::sigmas_for_denoise(diffusion.schedule, settings.scheduler, settings.steps, 1.0, settings.sampler);
  // The graphs' negative prompt is empty, and so is the training's dropped caption.
  const ConditioningValue negative({model.text->encode("", model.text->default_clip_skip)});

  std::vector<torch::Tensor> pictures;
  const auto batch = static_cast<std::size_t>(std::max(settings.batch_size, 1));
  for (std::size_t start = 0; start < prompts.size(); start += batch) {
    const std::size_t n = std::min(batch, prompts.size() - start);
    // One encoding per row: the guided denoiser takes a [B, 77, width] context as B prompts.
    const ConditioningValue positive(
        {{contexts.narrow(0, static_cast<std::int64_t>(start), static_cast<std::int64_t>(n)), {}}});
    const auto denoiser = nodes::guided_denoiser(diffusion, positive, negative, cfg);
    std::vector<torch::Tensor> noise;
    for (std::size_t i = start; i < start + n; ++i)
      noise.push_back(sampling::initial_noise(prompts[i].noise_seed, {1, channels, latent_side, latent_side}));
    sampling::KSamplerRun run;
    run.noise = torch::cat(noise);
    run.latent = torch::zeros_like(run.noise);
    run.sigmas = sigmas;
    run.seed = prompts[start].noise_seed;
    pictures.push_back(nodes::image_to_rgb8(model.vae->decode(sampling::ksample(*sampler, denoiser, run))));
  }
  return torch::cat(pictures);
}

Adherence score(std::span<const Prompt> prompts, const torch::Tensor& pictures, double cfg) {
  if (pictures.dim() != 4 || pictures.size(0) != static_cast<std::int64_t>(prompts.size()) ||
      pictures.size(1) != pictures.size(2) || pictures.size(3) != 3 || pictures.scalar_type() != torch::kUInt8)
    throw std::invalid_argument("score: expected uint8 pictures [" + std::to_string(prompts.size()) + ", S, S, 3]");
  const torch::Tensor rgb = pictures.contiguous();
  const int side = static_cast<int>(rgb.size(1));
  const auto bytes = static_cast<std::size_t>(side) * static_cast<std::size_t>(side) * 3;
  Adherence a;
  a.cfg = cfg;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    const shapes::Scene& want = prompts[i].scene;
    const shapes::Classification got = shapes::classify(side, {rgb.data_ptr<std::uint8_t>() + i * bytes, bytes});
    count(a.background, got.background == want.background);
    count(a.colour, got.colour == want.colour);
    if (want.position_stated) count(a.position, got.position == want.position);
    if (want.size_stated) count(a.size, got.size == want.size);
    const shapes::Size size = want.size_stated ? want.size : got.size;
    count(size == shapes::Size::large ? a.type_large : a.type_small, got.shape == want.shape);
  }
  return a;
}

double vae_psnr(const ShapesModel& model, int count, std::uint64_t seed, int side) {
  std::mt19937_64 rng(seed);
  double squared_error = 0, values = 0;
  for (int done = 0; done < count;) {
    const int n = std::min(32, count - done);
    std::vector<shapes::Scene> scenes;
    for (int i = 0; i < n; ++i) scenes.push_back(shapes::random_scene(rng));
    const torch::Tensor original = render_scenes(scenes, side);
    const torch::Tensor decoded =
        nodes::image_to_rgb8(model.vae->decode(model.vae->encode(original.to(torch::kFloat) / 255.0f)));
    squared_error += (decoded.to(torch::kFloat) - original.to(torch::kFloat)).square().sum().item<double>();
    values += static_cast<double>(original.numel());
    done += n;
  }
  return 10.0 * std::log10(255.0 * 255.0 / std::max(squared_error / values, 1e-12));
}

namespace {

// `value` replaced by another of `choices` (drawn from rng) that `allowed` accepts.
template <typename T, std::size_t N, typename Allowed>
T another(const std::array<T, N>& choices, T value, std::mt19937_64& rng, Allowed allowed) {
  std::vector<T> candidates;
  for (T c : choices)
    if (c != value && allowed(c)) candidates.push_back(c);
  return candidates.at(shapes::uniform_index(rng, candidates.size()));
}

}  // namespace

std::vector<CaptionSensitivity> caption_sensitivity(const ShapesModel& model, int count, std::uint64_t seed,
                                                    std::span<const int> timesteps, int side) {
  if (count < 1) throw std::invalid_argument("caption_sensitivity: count must be positive");
  const nodes::DiffusionModel& diffusion = *model.diffusion;
  const torch::Tensor alphas_cumprod = diffusion.schedule.alphas_cumprod().to(torch::kFloat64);
  std::mt19937_64 rng(seed);
  std::vector<shapes::Scene> scenes;
  // Captions: the right one, then position, colour, shape and background changed, then empty.
  std::array<std::vector<std::string>, 6> captions;
  for (int i = 0; i < count; ++i) {
    shapes::Scene scene = shapes::random_scene(rng);
    scene.size_stated = scene.position_stated = true;
    scenes.push_back(scene);
    captions[0].push_back(shapes::caption(scene));
    shapes::Scene changed = scene;
    changed.position = another(shapes::kPositions, scene.position, rng, [](auto) { return true; });
    captions[1].push_back(shapes::caption(changed));
    changed = scene;
    changed.colour = another(shapes::kColours, scene.colour, rng, [&](auto c) { return c != scene.background; });
    captions[2].push_back(shapes::caption(changed));
    changed = scene;
    changed.shape = another(shapes::kShapeKinds, scene.shape, rng, [](auto) { return true; });
    captions[3].push_back(shapes::caption(changed));
    changed = scene;
    changed.background = another(shapes::kColours, scene.background, rng, [&](auto c) { return c != scene.colour; });
    captions[4].push_back(shapes::caption(changed));
    captions[5].push_back("");
  }
  c10::InferenceMode inference;
  const torch::Tensor latents = model.vae->encode(render_scenes(scenes, side).to(torch::kFloat) / 255.0f);
  std::array<torch::Tensor, 6> contexts;
  for (std::size_t k = 0; k < captions.size(); ++k) contexts[k] = encode_texts(model, captions[k]);
  const auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const torch::Tensor noise = at::randn(latents.sizes(), generator, latents.options());
  std::vector<CaptionSensitivity> out;
  for (const int t : timesteps) {
    if (t < 0 || t >= alphas_cumprod.size(0))
      throw std::invalid_argument(fmt::format("caption_sensitivity: timestep {} is outside [0, {})", t,
                                              alphas_cumprod.size(0)));
    const double alpha_bar = alphas_cumprod[t].item<double>();
    const torch::Tensor noisy = std::sqrt(alpha_bar) * latents + std::sqrt(1.0 - alpha_bar) * noise;
    const torch::Tensor timestep = torch::full({count}, static_cast<double>(t), torch::kFloat);
    std::array<double, 6> error{};
    for (std::size_t k = 0; k < contexts.size(); ++k)
      error[k] = (diffusion.predict(noisy, timestep, contexts[k]) - noise).square().mean().item<double>();
    out.push_back({t, error[0], error[1], error[2], error[3], error[4], error[5]});
  }
  return out;
}

std::string format_sensitivity(std::span<const CaptionSensitivity> rows) {
  std::string out = fmt::format("{:>4}  {:>9}  {:>17}  {:>17}  {:>17}  {:>17}  {:>17}\n", "t", "right",
                                "position changed", "colour changed", "shape changed", "background changed",
                                "empty caption");
  for (const CaptionSensitivity& r : rows) {
    auto cell = [&](double e) { return fmt::format("{:.5f} ({:5.3f}x)", e, e / std::max(r.right, 1e-30)); };
    out += fmt::format("{:>4}  {:9.5f}  {:>17}  {:>17}  {:>17}  {:>17}  {:>17}\n", r.timestep, r.right,
                       cell(r.wrong_position), cell(r.wrong_colour), cell(r.wrong_shape), cell(r.wrong_background),
                       cell(r.empty));
  }
  return out;
}

std::string format_table(std::span<const Adherence> rows) {
  auto cell = [](const Tally& t) {
    return t.total > 0 ? fmt::format("{:6.1f}% {:>7}", t.percent(), fmt::format("{}/{}", t.correct, t.total))
                       : fmt::format("{:>15}", "-");
  };
  std::string out = fmt::format("{:>5}  {:>15}  {:>15}  {:>15}  {:>15}  {:>15}  {:>15}\n", "cfg", "background",
                                "shape colour", "position", "type (large)", "type (small)", "size");
  for (const Adherence& r : rows)
    out += fmt::format("{:5.1f}  {}  {}  {}  {}  {}  {}\n", r.cfg, cell(r.background), cell(r.colour),
                       cell(r.position), cell(r.type_large), cell(r.type_small), cell(r.size));
  return out;
}

nlohmann::json to_json(const fs::path& checkpoint, std::span<const Adherence> rows, const SamplingSettings& settings,
                       int prompts, double vae_psnr_db) {
  nlohmann::json out = {{"checkpoint", checkpoint.string()}, {"prompts", prompts},     {"steps", settings.steps},
                        {"sampler", settings.sampler},       {"scheduler", settings.scheduler}, {"side", settings.side},
                        {"rows", nlohmann::json::array()}};
  for (const Adherence& r : rows)
    out["rows"].push_back({{"cfg", r.cfg},
                           {"background", tally_json(r.background)},
                           {"colour", tally_json(r.colour)},
                           {"position", tally_json(r.position)},
                           {"type_large", tally_json(r.type_large)},
                           {"type_small", tally_json(r.type_small)},
                           {"size", tally_json(r.size)}});
  if (!std::isnan(vae_psnr_db)) out["vae_psnr_db"] = vae_psnr_db;
  return out;
}

void write_grid(const fs::path& path, std::span<const torch::Tensor> pictures, std::span<const double> cfgs,
                std::span<const Prompt> prompts, int columns) {
  if (pictures.empty() || pictures.size() != cfgs.size())
    throw std::invalid_argument("write_grid: one picture batch per guidance scale is needed");
  const std::int64_t cols = std::min<std::int64_t>(columns, pictures.front().size(0));
  std::vector<torch::Tensor> rows;
  for (const torch::Tensor& batch : pictures) {
    const torch::Tensor row = batch.narrow(0, 0, cols);  // [cols, S, S, 3] → [S, cols·S, 3]
    rows.push_back(row.permute({1, 0, 2, 3}).reshape({row.size(1), cols * row.size(2), 3}));
  }
  nlohmann::json legend = {{"rows_cfg", std::vector<double>(cfgs.begin(), cfgs.end())},
                           {"columns", nlohmann::json::array()}};
  for (std::int64_t i = 0; i < cols; ++i) legend["columns"].push_back(prompts[static_cast<std::size_t>(i)].caption);
  nodes::write_png(path, torch::cat(rows).contiguous(), {{"diffgraph-evaluate", legend.dump()}}, 6);
}

}  // namespace diffgraph::evaluate
