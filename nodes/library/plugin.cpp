// The diffusion node library's entry point: its value types and every node file's factory.
#include <diffgraph/plugin.hpp>

#include "node_registry.hpp"

namespace diffgraph::nodes {

std::vector<NodeFactory>& node_factories() {
  static std::vector<NodeFactory> factories;
  return factories;
}

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
  for (auto factory : diffgraph::nodes::node_factories()) registrar.add_node(factory());
}
