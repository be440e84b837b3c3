#include "unet.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>

#include <torch/torch.h>

#include "attention.hpp"
#include "onednn_ops.hpp"

namespace diffgraph::models {

namespace {

// ---- module-tree helpers -------------------------------------------------------------------

// Training (tools/train) runs forward() with grad mode on; autograd cannot differentiate some
// of the in-place and out= shortcuts below (they overwrite what the backward pass needs), so
// with grad mode on they give way to the equivalent out-of-place ops.
bool autograd_on() { return at::GradMode::is_enabled(); }

// SiLU in place on a tensor the caller just created (out of place under autograd).
torch::Tensor silu_inplace(torch::Tensor t) {
  if (autograd_on()) return torch::silu(t);
  at::silu_(t);
  return t;
}

// Whether this thread's current forward() may use packed weights: only for latents of at most
// kPackedStepMaxLatentPixels, where the low-resolution levels (whose weight reorders packing
// saves) dominate the step. Measured on 2 cores, SD 1.5, batch 2: a 32×32-latent step 1.2–1.4×
// faster with packing, for +2.7 GiB; at 64×64 it would save ~10 % for +1.3 GiB (the 8×8 level's
// convolutions), which would break the weights + 2 GiB memory budget of a 512² picture.
constexpr std::int64_t kPackedStepMaxLatentPixels = 32 * 32;
thread_local bool t_packing_allowed = false;

OneDnnWeightCache* packing(OneDnnWeightCache& cache) { return t_packing_allowed ? &cache : nullptr; }

// The layers' own forward() would call torch::linear / torch::conv2d; the U-Net sends its GEMMs
// and convolutions through onednn_ops instead, to keep CPU work on one thread pool.
torch::Tensor run(const Conv2d& conv, OneDnnWeightCache& packed, const torch::Tensor& x) {
  return onednn_conv2d(x, conv->weight, conv->bias, conv->stride, conv->padding, packing(packed));
}

torch::Tensor run(const Linear& linear, OneDnnWeightCache& packed, const torch::Tensor& x) {
  return onednn_linear(x, linear->weight, linear->bias, packing(packed));
}

// A named, parameter-less node of the module tree ("in_layers", "ff.net", "out"), so that a
// parameter's path is its checkpoint key without a Sequential's forward in the way.
std::shared_ptr<torch::nn::Module> node(torch::nn::Module& parent, const std::string& name) {
  return parent.register_module(name, std::make_shared<torch::nn::Module>());
}

}  // namespace

// ---- timestep embedding --------------------------------------------------------------------

torch::Tensor timestep_embedding(const torch::Tensor& t, std::int64_t dim) {
  if (t.dim() != 1)
    throw std::invalid_argument("timestep_embedding: t must be 1-D [B], got " + std::to_string(t.dim()) + "-D");
  if (dim <= 0) throw std::invalid_argument("timestep_embedding: dim must be positive");
  const std::int64_t half = dim / 2;
  // Same operations, in the same order and dtype, as the reference, so the result is bitwise equal.
  const torch::Tensor freqs =
      torch::exp(torch::arange(0, half, t.options().dtype(torch::kFloat32)) * (-std::log(10000.0)) / half);
  const torch::Tensor args = t.to(torch::kFloat32).unsqueeze(1) * freqs.unsqueeze(0);
  torch::Tensor embedding = torch::cat({torch::cos(args), torch::sin(args)}, -1);
  if (dim % 2) embedding = torch::cat({embedding, torch::zeros_like(embedding.narrow(1, 0, 1))}, -1);
  return embedding;
}

// ---- ResBlock --------------------------------------------------------------------------------

ResBlockImpl::ResBlockImpl(std::int64_t channels, std::int64_t emb_channels, std::int64_t out_channels,
                           std::int64_t groups, const torch::TensorOptions& options) {
  auto in_layers = node(*this, "in_layers");
  in_norm = in_layers->register_module("0", GroupNorm(groups, channels, 1e-5, options));
  in_conv = in_layers->register_module("2", Conv2d(channels, out_channels, 3, 1, 1, options));
  emb_linear = node(*this, "emb_layers")->register_module("1", Linear(emb_channels, out_channels, true, options));
  auto out_layers = node(*this, "out_layers");
  out_norm = out_layers->register_module("0", GroupNorm(groups, out_channels, 1e-5, options));
  out_conv = out_layers->register_module("3", Conv2d(out_channels, out_channels, 3, 1, 1, options));
  if (channels != out_channels)
    skip_connection = register_module("skip_connection", Conv2d(channels, out_channels, 1, 1, 0, options));
}

torch::Tensor ResBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& emb_silu) {
  torch::Tensor h = run(in_conv, in_conv_packed, silu_inplace(in_norm(x)));
  // Every tensor updated in place below was created in this function.
  h.add_(run(emb_linear, emb_linear_packed, emb_silu).unsqueeze(-1).unsqueeze(-1));
  h = run(out_conv, out_conv_packed, silu_inplace(out_norm(h)));
  return h.add_(skip_connection ? run(skip_connection, skip_packed, x) : x);
}

// ---- attention -----------------------------------------------------------------------------

CrossAttentionImpl::CrossAttentionImpl(std::int64_t query_dim, std::int64_t context_dim, std::int64_t heads_,
                                       std::int64_t dim_head_, const torch::TensorOptions& options)
    : heads(heads_), dim_head(dim_head_) {
  const std::int64_t inner = heads * dim_head;
  to_q = register_module("to_q", Linear(query_dim, inner, false, options));
  to_k = register_module("to_k", Linear(context_dim, inner, false, options));
  to_v = register_module("to_v", Linear(context_dim, inner, false, options));
  to_out = node(*this, "to_out")->register_module("0", Linear(inner, query_dim, true, options));
}

torch::Tensor CrossAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& context) {
  const torch::Tensor& source = context.defined() ? context : x;
  const std::int64_t batch = x.size(0), n = x.size(1), m = source.size(1);
  // [B,N,H·D] viewed as [B,H,N,D]: attention() reads the heads in place.
  auto heads_of = [&](const torch::Tensor& projected, std::int64_t tokens) {
    return projected.view({batch, tokens, heads, dim_head}).transpose(1, 2);
  };
  const torch::Tensor q = heads_of(onednn_linear(x, to_q->weight, {}, packing(to_q_packed)), n);
  const torch::Tensor k = heads_of(onednn_linear(source, to_k->weight, {}, packing(to_k_packed)), m);
  const torch::Tensor v = heads_of(onednn_linear(source, to_v->weight, {}, packing(to_v_packed)), m);
  const torch::Tensor out = attention(q, k, v, std::pow(static_cast<double>(dim_head), -0.5));
  const torch::Tensor merged = out.transpose(1, 2).reshape({batch, n, heads * dim_head});
  return onednn_linear(merged, to_out->weight, to_out->bias, packing(to_out_packed));
}

BasicTransformerBlockImpl::BasicTransformerBlockImpl(std::int64_t dim, std::int64_t heads, std::int64_t dim_head,
                                                     std::int64_t context_dim, const torch::TensorOptions& options) {
  attn1 = register_module("attn1", CrossAttention(dim, dim, heads, dim_head, options));
  auto net = node(*node(*this, "ff"), "net");
  ff_proj = node(*net, "0")->register_module("proj", Linear(dim, dim * 8, true, options));
  ff_out = net->register_module("2", Linear(dim * 4, dim, true, options));
  attn2 = register_module("attn2", CrossAttention(dim, context_dim, heads, dim_head, options));
  norm1 = register_module("norm1", LayerNorm(dim, 1e-5, options));
  norm2 = register_module("norm2", LayerNorm(dim, 1e-5, options));
  norm3 = register_module("norm3", LayerNorm(dim, 1e-5, options));
}

torch::Tensor BasicTransformerBlockImpl::forward(torch::Tensor x, const torch::Tensor& context) {
  // Each sub-layer's output is a fresh tensor, so the residual is added in place.
  x = attn1(norm1(x)).add_(x);
  x = attn2(norm2(x), context).add_(x);
  // GEGLU: value · gelu(gate) (exact erf GELU). ff.net.0.proj's rows hold the value half, then
  // the gate half; projecting each half on its own gives two dense tensors, so the elementwise
  // work runs on contiguous memory and ff.net.2 reads its input without a copy.
  const torch::Tensor normed = norm3(x);
  const std::int64_t inner = ff_proj->weight.size(0) / 2;
  torch::Tensor value =
      onednn_linear(normed, ff_proj->weight.narrow(0, 0, inner), ff_proj->bias.narrow(0, 0, inner),
                    packing(ff_value_packed));
  torch::Tensor gate = onednn_linear(normed, ff_proj->weight.narrow(0, inner, inner),
                                     ff_proj->bias.narrow(0, inner, inner), packing(ff_gate_packed));
  if (autograd_on()) {
    value = value * torch::gelu(gate);
  } else {
    at::gelu_(gate);
    value.mul_(gate);
  }
  return onednn_linear(value, ff_out->weight, ff_out->bias, packing(ff_out_packed)).add_(x);
}

SpatialTransformerImpl::SpatialTransformerImpl(std::int64_t channels, std::int64_t heads, std::int64_t depth,
                                               std::int64_t context_dim, bool linear_projection, std::int64_t groups,
                                               const torch::TensorOptions& options) {
  norm = register_module("norm", GroupNorm(groups, channels, 1e-6, options));
  if (linear_projection)
    proj_in_linear = register_module("proj_in", Linear(channels, channels, true, options));
  else
    proj_in_conv = register_module("proj_in", Conv2d(channels, channels, 1, 1, 0, options));
  auto blocks = node(*this, "transformer_blocks");
  for (std::int64_t i = 0; i < depth; ++i) {
    transformer_blocks.push_back(blocks->register_module(
        std::to_string(i), BasicTransformerBlock(channels, heads, channels / heads, context_dim, options)));
  }
  if (linear_projection)
    proj_out_linear = register_module("proj_out", Linear(channels, channels, true, options));
  else
    proj_out_conv = register_module("proj_out", Conv2d(channels, channels, 1, 1, 0, options));
}

torch::Tensor SpatialTransformerImpl::forward(const torch::Tensor& x_in, const torch::Tensor& context) {
  const torch::Tensor x = x_in.contiguous();
  const std::int64_t batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
  // A 1×1 conv on NCHW (SD1) and a Linear on [B,HW,C] tokens (SD2) are the same GEMM over
  // channels, so both variants run one code path: tokens are the channels-last layout of the
  // normalised image, and proj_out's result is that layout again.
  const torch::Tensor w_in = proj_in_linear ? proj_in_linear->weight : proj_in_conv->weight;
  const torch::Tensor b_in = proj_in_linear ? proj_in_linear->bias : proj_in_conv->bias;
  const torch::Tensor w_out = proj_out_linear ? proj_out_linear->weight : proj_out_conv->weight;
  const torch::Tensor b_out = proj_out_linear ? proj_out_linear->bias : proj_out_conv->bias;

  // [B,C,H,W] → [B,H,W,C] → [B,HW,C]: one transposing copy.
  const torch::Tensor normed = norm(x).permute({0, 2, 3, 1}).reshape({batch, height * width, channels});
  torch::Tensor tokens = onednn_linear(normed, w_in, b_in, packing(proj_in_packed));
  for (auto& block : transformer_blocks) tokens = block(tokens, context);
  tokens = onednn_linear(tokens, w_out, b_out, packing(proj_out_packed));

  // Back to NCHW, plus the residual, in one pass.
  if (autograd_on()) return x + tokens.view({batch, height, width, channels}).permute({0, 3, 1, 2});
  torch::Tensor out = torch::empty_like(x);
  at::add_out(out, x, tokens.view({batch, height, width, channels}).permute({0, 3, 1, 2}));
  return out;
}

// ---- blocks and model ----------------------------------------------------------------------

torch::Tensor UNetBlockImpl::forward(torch::Tensor h, const torch::Tensor& emb_silu, const torch::Tensor& context) {
  if (conv_in) h = run(conv_in, conv_in_packed, h);
  if (res) h = res(h, emb_silu);
  if (transformer) h = transformer(h, context);
  if (res2) h = res2(h, emb_silu);
  if (downsample) h = run(downsample, downsample_packed, h);
  if (upsample) {
    const std::vector<std::int64_t> doubled{h.size(2) * 2, h.size(3) * 2};
    h = run(upsample, upsample_packed, torch::upsample_nearest2d(h, doubled));
  }
  return h;
}

UNetModelImpl::UNetModelImpl(const UNetConfig& config, const torch::TensorOptions& options) : config_(config) {
  config_.validate();
  const UNetConfig& c = config_;
  const std::int64_t mc = c.model_channels, emb_dim = 4 * mc, groups = c.norm_groups;
  auto transformer = [&](std::int64_t channels, std::int64_t depth) {
    return SpatialTransformer(channels, c.heads_for(channels), depth, c.context_dim, c.use_linear_in_transformer,
                              groups, options);
  };

  auto time_embed = node(*this, "time_embed");
  time_embed_0 = time_embed->register_module("0", Linear(mc, emb_dim, true, options));
  time_embed_2 = time_embed->register_module("2", Linear(emb_dim, emb_dim, true, options));
  if (c.adm_in_channels > 0) {
    auto label_emb = node(*node(*this, "label_emb"), "0");
    label_emb_0 = label_emb->register_module("0", Linear(c.adm_in_channels, emb_dim, true, options));
    label_emb_2 = label_emb->register_module("2", Linear(emb_dim, emb_dim, true, options));
  }

  auto inputs = node(*this, "input_blocks");
  auto new_input_block = [&]() {
    input_blocks.push_back(inputs->register_module(std::to_string(input_blocks.size()), UNetBlock()));
    return input_blocks.back();
  };
  {
    auto block = new_input_block();
    block->conv_in = block->register_module("0", Conv2d(c.in_channels, mc, 3, 1, 1, options));
  }
  std::vector<std::int64_t> skip_channels{mc};
  std::int64_t ch = mc;
  for (std::int64_t level = 0; level < c.levels(); ++level) {
    for (std::int64_t r = 0; r < c.num_res_blocks; ++r) {
      auto block = new_input_block();
      const std::int64_t out_ch = mc * c.channel_mult[level];
      block->res = block->register_module("0", ResBlock(ch, emb_dim, out_ch, groups, options));
      ch = out_ch;
      if (c.has_attention(level)) block->transformer = block->register_module("1", transformer(ch, c.depth_at(level)));
      skip_channels.push_back(ch);
    }
    if (level + 1 < c.levels()) {
      auto block = new_input_block();
      block->downsample = node(*block, "0")->register_module("op", Conv2d(ch, ch, 3, 2, 1, options));
      skip_channels.push_back(ch);
    }
  }

  middle_block = register_module("middle_block", UNetBlock());
  middle_block->res = middle_block->register_module("0", ResBlock(ch, emb_dim, ch, groups, options));
  middle_block->transformer = middle_block->register_module("1", transformer(ch, c.depth_middle()));
  middle_block->res2 = middle_block->register_module("2", ResBlock(ch, emb_dim, ch, groups, options));

  auto outputs = node(*this, "output_blocks");
  for (std::int64_t level = c.levels() - 1; level >= 0; --level) {
    for (std::int64_t r = 0; r <= c.num_res_blocks; ++r) {
      auto block = outputs->register_module(std::to_string(output_blocks.size()), UNetBlock());
      output_blocks.push_back(block);
      const std::int64_t skip = skip_channels.back();
      skip_channels.pop_back();
      const std::int64_t out_ch = mc * c.channel_mult[level];
      block->res = block->register_module("0", ResBlock(ch + skip, emb_dim, out_ch, groups, options));
      ch = out_ch;
      int index = 1;
      if (c.has_attention(level))
        block->transformer = block->register_module(std::to_string(index++), transformer(ch, c.depth_at(level)));
      if (level > 0 && r == c.num_res_blocks)
        block->upsample =
            node(*block, std::to_string(index))->register_module("conv", Conv2d(ch, ch, 3, 1, 1, options));
    }
  }

  auto out = node(*this, "out");
  out_norm = out->register_module("0", GroupNorm(groups, ch, 1e-5, options));
  out_conv = out->register_module("2", Conv2d(ch, c.out_channels, 3, 1, 1, options));
  set_weight_prepacking(true);
}

torch::Tensor UNetModelImpl::forward(const torch::Tensor& x_in, const torch::Tensor& timesteps,
                                     const torch::Tensor& context, const UNetObserver& observer) {
  ModelInputs inputs;
  inputs.context = context;
  return forward(x_in, timesteps, inputs, observer);
}

torch::Tensor UNetModelImpl::forward(const torch::Tensor& x_noisy, const torch::Tensor& timesteps_in,
                                     const ModelInputs& inputs, const UNetObserver& observer) {
  const UNetConfig& c = config_;
  const torch::TensorOptions options = out_conv->weight.options();
  auto input_error = [](const std::string& what, c10::IntArrayRef got) {
    std::ostringstream message;
    message << "U-Net forward: " << what << ", got " << got;
    throw std::invalid_argument(message.str());
  };
  if (c.adm_in_channels == 0 && inputs.y.defined())
    input_error("this U-Net has no label_emb, so it takes no y vector", inputs.y.sizes());
  if (c.adm_in_channels > 0 && (!inputs.y.defined() || inputs.y.dim() != 2 || inputs.y.size(0) != x_noisy.size(0) ||
                                inputs.y.size(1) != c.adm_in_channels))
    input_error("this U-Net's label_emb needs y [B," + std::to_string(c.adm_in_channels) + "]",
                inputs.y.defined() ? inputs.y.sizes() : c10::IntArrayRef{});
  torch::Tensor x_in = x_noisy;
  if (inputs.concat.defined()) {
    if (x_noisy.dim() != 4 || inputs.concat.dim() != 4 || inputs.concat.size(0) != x_noisy.size(0) ||
        inputs.concat.size(2) != x_noisy.size(2) || inputs.concat.size(3) != x_noisy.size(3))
      input_error("concat must be [B,C',H,W] with x's batch and size", inputs.concat.sizes());
    x_in = torch::cat({x_noisy, inputs.concat.to(x_noisy.options())}, 1);
  }
  if (x_in.dim() != 4 || x_in.size(1) != c.in_channels)
    input_error(std::string(inputs.concat.defined() ? "x and concat together" : "x") + " must be [B," +
                    std::to_string(c.in_channels) + ",H,W]",
                x_in.sizes());
  const torch::Tensor& context_in = inputs.context;
  if (!context_in.defined()) input_error("a context (cross-attention tokens) is required", {});
  const std::int64_t batch = x_in.size(0), multiple = std::int64_t{1} << (c.levels() - 1);
  if (x_in.size(2) % multiple != 0 || x_in.size(3) % multiple != 0)
    input_error("x's height and width must be multiples of " + std::to_string(multiple), x_in.sizes());
  if (context_in.dim() != 3 || context_in.size(0) != batch || context_in.size(2) != c.context_dim)
    input_error("context must be [" + std::to_string(batch) + ",M," + std::to_string(c.context_dim) + "]",
                context_in.sizes());
  torch::Tensor timesteps = timesteps_in.reshape({-1});
  if (timesteps.numel() == 1 && batch != 1) timesteps = timesteps.expand({batch});
  if (timesteps.numel() != batch) input_error("timesteps must hold one value per batch item", timesteps_in.sizes());

  const torch::Tensor x = x_in.to(options);
  const torch::Tensor context = context_in.to(options).contiguous();
  struct PackingScope {  // restores the caller's setting on exit, also when a block throws
    bool saved = t_packing_allowed;
    ~PackingScope() { t_packing_allowed = saved; }
  } packing_scope;
  t_packing_allowed = x.size(2) * x.size(3) <= kPackedStepMaxLatentPixels;

  torch::Tensor emb = timestep_embedding(timesteps.to(options.device()), c.model_channels).to(options);
  emb = run(time_embed_0, time_embed_0_packed, emb);
  emb = run(time_embed_2, time_embed_2_packed, silu_inplace(emb));
  if (observer) observer("time_embed", emb);
  if (c.adm_in_channels > 0) {
    torch::Tensor label = run(label_emb_0, label_emb_0_packed, inputs.y.to(options));
    label = run(label_emb_2, label_emb_2_packed, silu_inplace(label));
    if (observer) observer("label_emb", label);
    emb = emb + label;
  }
  const torch::Tensor emb_silu = torch::silu(emb);  // every ResBlock's emb_layers starts with SiLU

  std::vector<torch::Tensor> skips;
  skips.reserve(input_blocks.size());
  torch::Tensor h = x;
  for (std::size_t i = 0; i < input_blocks.size(); ++i) {
    h = input_blocks[i]->forward(h, emb_silu, context);
    skips.push_back(h);
    if (observer) observer("input_blocks." + std::to_string(i), h);
  }
  h = middle_block->forward(h, emb_silu, context);
  if (observer) observer("middle_block", h);
  for (std::size_t i = 0; i < output_blocks.size(); ++i) {
    h = torch::cat({h, skips.back()}, 1);
    skips.pop_back();  // frees the skip once it is consumed
    h = output_blocks[i]->forward(h, emb_silu, context);
    if (observer) observer("output_blocks." + std::to_string(i), h);
  }
  return run(out_conv, out_conv_packed, silu_inplace(out_norm(h)));
}

std::vector<OneDnnWeightCache*> ResBlockImpl::weight_caches() {
  return {&in_conv_packed, &emb_linear_packed, &out_conv_packed, &skip_packed};
}
std::vector<OneDnnWeightCache*> CrossAttentionImpl::weight_caches() {
  return {&to_q_packed, &to_k_packed, &to_v_packed, &to_out_packed};
}
std::vector<OneDnnWeightCache*> BasicTransformerBlockImpl::weight_caches() {
  return {&ff_value_packed, &ff_gate_packed, &ff_out_packed};
}
std::vector<OneDnnWeightCache*> SpatialTransformerImpl::weight_caches() { return {&proj_in_packed, &proj_out_packed}; }
std::vector<OneDnnWeightCache*> UNetBlockImpl::weight_caches() {
  return {&conv_in_packed, &downsample_packed, &upsample_packed};
}

void UNetModelImpl::set_weight_prepacking(bool enabled) {
  std::vector<OneDnnWeightCache*> caches{&time_embed_0_packed, &time_embed_2_packed, &label_emb_0_packed,
                                         &label_emb_2_packed, &out_conv_packed};
  auto collect = [&](auto module) {
    if (module)
      for (auto* cache : module->weight_caches()) caches.push_back(cache);
  };
  for (const auto& module : modules(/*include_self=*/false)) {
    collect(std::dynamic_pointer_cast<ResBlockImpl>(module));
    collect(std::dynamic_pointer_cast<CrossAttentionImpl>(module));
    collect(std::dynamic_pointer_cast<BasicTransformerBlockImpl>(module));
    collect(std::dynamic_pointer_cast<SpatialTransformerImpl>(module));
    collect(std::dynamic_pointer_cast<UNetBlockImpl>(module));
  }
  for (auto* cache : caches) cache->set_enabled(enabled);
}

UNetModel load_unet(const SafetensorsFile& file, std::string_view prefix,
                    const std::optional<nlohmann::json>& config_override, const torch::TensorOptions& options) {
  const ShapeMap shapes = shapes_under(file, prefix);
  if (shapes.empty())
    throw std::invalid_argument(file.path().string() + ": no tensors under '" + std::string(prefix) + "'");
  UNetConfig config;
  try {
    config = detect_unet_config(shapes);
    if (config_override) config = merge_unet_config(config, *config_override);
  } catch (const std::invalid_argument& error) {
    throw std::invalid_argument(file.path().string() + " ('" + std::string(prefix) + "'): " + error.what());
  }
  UNetModel model(config, options);
  load_weights(*model, file, prefix);
  model->eval();
  return model;
}

}  // namespace diffgraph::models
