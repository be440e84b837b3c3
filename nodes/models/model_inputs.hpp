// model_inputs.hpp — what a diffusion network is conditioned on besides x and the timestep.
//
// One bundle travels from the conditioning to the U-Net (ComfyUI's c_crossattn, y, c_concat):
// the guider batches it for classifier-free guidance, the MODEL value moves it to the compute
// device, the U-Net reads the fields its architecture uses. A new kind of conditioning
// (ControlNet residuals, say) is a new field here and the code that reads it, not a new
// parameter through every layer between the conditioning and the network.
#pragma once

#include <torch/types.h>

namespace diffgraph::models {

struct ModelInputs {
  /// Cross-attention tokens [B, T, D] (the text encoding). Every text-conditioned U-Net needs it.
  torch::Tensor context;
  /// The vector label_emb embeds and adds to the timestep embedding [B, adm_in_channels] (SDXL's
  /// pooled text + size conditioning); undefined for U-Nets without label_emb.
  torch::Tensor y;
  /// Extra input channels [B, C', H, W] concatenated after x's channels (inpainting and
  /// instruct-pix2pix models: masked image latent and mask); undefined for plain U-Nets.
  torch::Tensor concat;

  /// Every defined field converted with `options` (device and dtype); context made contiguous.
  ModelInputs to(const torch::TensorOptions& options) const {
    ModelInputs out;
    if (context.defined()) out.context = context.to(options).contiguous();
    if (y.defined()) out.y = y.to(options);
    if (concat.defined()) out.concat = concat.to(options);
    return out;
  }
};

}  // namespace diffgraph::models
