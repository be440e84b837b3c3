// attention.hpp — scaled dot-product attention with bounded memory, shared by the U-Net
// (self and cross attention), the CLIP text encoder (causal) and the VAE (single head).
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace diffgraph::models {

/// softmax(scale · q·kᵀ [+ causal mask]) · v for q [B,H,Nq,D], k [B,H,Nk,D], v [B,H,Nk,Dv]
/// → [B,H,Nq,Dv]. With `causal`, query i attends to keys j ≤ i (−inf above the diagonal; needs
/// Nq == Nk). Inputs may be strided views (e.g. [B,N,H·D] projections viewed as [B,N,H,D] and
/// transposed); callers need not make them contiguous. On 1.13's sliced path the result is a
/// transposed view of a contiguous [B,Nq,H,Dv] tensor, so `out.transpose(1, 2).reshape({B, Nq,
/// H * Dv})` costs no copy.
///
/// On LibTorch ≥ 2.0 this is at::scaled_dot_product_attention. On 1.13 small problems (at most
/// 2 MiB of scores over all rows and heads) take one batched product; larger ones process each head
/// in query slices so that one slice's score matrix stays under attention_score_budget_bytes()
/// (a 64×64 latent has 4096 tokens: the full 8-head score matrix of a batch-2 self-attention
/// would take 1 GiB), and on the CPU both products run on oneDNN (see onednn_ops.hpp). Throws
/// std::invalid_argument naming the offending shape when the inputs do not fit together.
/// With grad mode on and inputs that require grad (training), the 1.13 path is always the batched,
/// differentiable softmax(q·kᵀ)·v (its result is then contiguous [B,H,Nq,Dv]).
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale,
                        bool causal = false);

/// Same, with an explicit score budget in bytes for one query slice (≥ one query row; the
/// 1.13 path only). Exposed so tests can force slicing on small inputs.
torch::Tensor attention_sliced(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale,
                               bool causal, std::int64_t score_budget_bytes);

/// The budget attention() uses on the sliced path: 256 MiB.
std::int64_t attention_score_budget_bytes();

}  // namespace diffgraph::models
