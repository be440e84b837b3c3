// SchedulerStep: one sampler step — from the latent at sigmas[step_index] and the (guided)
// denoised estimate to the latent at the next sigma. Chained with UNetDenoise and CFGBlend it
// lays the sampling loop bare; its state output carries multistep samplers' history.
#include <set>

#include <diffgraph/plugin.hpp>
#include "sampling/samplers.hpp"
#include "pipeline/denoising.hpp"

namespace diffgraph::nodes {

namespace {

/// A sampler's run state between SchedulerStep nodes. The noise source is not kept: each step
/// re-creates it from the seed, so a cached state can never hand out noise twice.
class SamplerStateValue final : public Value {
 public:
  SamplerStateValue(std::string sampler, sampling::SamplerState state)
      : sampler_(std::move(sampler)), state_(std::move(state)) {
    state_.noise = nullptr;
  }
  const std::string& sampler() const { return sampler_; }
  const sampling::SamplerState& state() const { return state_; }
  std::string_view type() const override { return "SAMPLER_STATE"; }
  std::size_t byte_size() const override {
    std::size_t total = sizeof(*this);
    for (const auto& t : state_.history) total += static_cast<std::size_t>(t.numel()) * 4;
    for (const auto& [name, t] : state_.memory) total += static_cast<std::size_t>(t.numel()) * 4;
    return total;
  }
  std::string summary() const override {
    return "SAMPLER_STATE " + sampler_ + " at step " + std::to_string(state_.step) + "/" + std::to_string(state_.steps());
  }

 private:
  std::string sampler_;
  sampling::SamplerState state_;
};

// Samplers whose step depends on earlier steps (and so need the previous step's state).
const std::set<std::string> kMultistep = {"lms", "dpmpp_2m", "dpmpp_2m_sde", "uni_pc", "uni_pc_bh2"};

NodeSpec scheduler_step() {
  NodeSpec spec;
  spec.type = "SchedulerStep";
  spec.display_name = "Scheduler Step";
  spec.category = "sampling/unrolled";
  spec.description =
      "x_{i+1} from x_i (at sigmas[step_index]) and the denoised estimate, by the chosen sampler. Samplers "
      "that take one model call per step work here (euler, euler_ancestral, lms, dpmpp_2m, ddim, ...); "
      "multistep ones need `state` from the previous step; ancestral ones need `noise`.";
  spec.inputs = {InputSpec::link("sampler", "SAMPLER"),
                 InputSpec::link("sigmas", "SIGMAS"),
                 InputSpec::integer("step_index", 0).range(0, 10000),
                 InputSpec::link("latent", "LATENT"),
                 InputSpec::link("prediction", "LATENT"),
                 InputSpec::link("noise", "NOISE").optional(),
                 InputSpec::link("state", "SAMPLER_STATE").optional()};
  spec.outputs = {{"LATENT", "LATENT", "the latent at the next sigma"},
                  {"SAMPLER_STATE", "SAMPLER_STATE", "the run state after this step"}};
  spec.execute = [](NodeContext& ctx) {
    const std::string& name = ctx.get<SamplerValue>("sampler")->name();
    const auto sampler = sampler_named(name);
    const auto& sigmas = ctx.get<SigmasValue>("sigmas")->sigmas();
    const std::int64_t i = ctx.get_int("step_index");
    const auto latent = ctx.get<LatentValue>("latent");
    const auto& x = latent->samples();
    const auto& denoised = ctx.get<LatentValue>("prediction")->samples();
    if (i >= sigmas.size(0) - 1)
      throw NodeError("step_index " + std::to_string(i) + " is past the last step (" + std::to_string(sigmas.size(0) - 1) +
                      " steps)");
    if (sampler->calls_at_step(sigmas, i) != 1)
      throw NodeError(name + " evaluates the model twice per step; use KSampler or SamplerCustomAdvanced for it");
    if (!x.sizes().equals(denoised.sizes())) throw NodeError("latent and prediction have different shapes");

    sampling::NoiseSampler noise;
    if (sampler->noise_kind() != sampling::NoiseKind::None) {
      auto noise_value = value_cast<NoiseValue>(ctx.input("noise"));
      if (!noise_value) throw NodeError(name + " adds noise at every step: connect a NOISE to `noise`");
      noise = sampling::make_noise_sampler(*sampler, noise_value->seed(), x, sigmas);
      // Draws are a function of the seed and the step: skip what the earlier steps used.
      if (sampler->noise_kind() == sampling::NoiseKind::Sequence)
        for (std::int64_t k = 0; k < i; ++k) noise(sigmas[k], sigmas[k + 1]);
    }

    sampling::SamplerState state;
    if (auto previous = value_cast<SamplerStateValue>(ctx.input("state"))) {
      if (previous->sampler() != name)
        throw NodeError("the state comes from sampler " + previous->sampler() + ", not " + name);
      state = previous->state();
      if (state.step != i)
        throw NodeError("the state is at step " + std::to_string(state.step) + ", not step_index " + std::to_string(i));
      state.noise = noise;
    } else {
      if (i > 0 && kMultistep.count(name))
        throw NodeError(name + " uses earlier steps: connect the previous SchedulerStep's state");
      state = sampler->start(x, sigmas, noise);
      state.step = i;
      state.model_x = x;
      state.model_sigma = sigmas[i];
    }
    torch::Tensor next;
    try {
      next = sampler->apply(state, i, x, denoised);
    } catch (const std::exception& e) {
      throw NodeError(e.what());
    }
    ctx.set_output("LATENT", make_value<LatentValue>(next, latent->noise_mask()));
    ctx.set_output("SAMPLER_STATE", make_value<SamplerStateValue>(name, std::move(state)));
  };
  return spec;
}

}  // namespace

DIFFGRAPH_NODE(scheduler_step);

}  // namespace diffgraph::nodes
