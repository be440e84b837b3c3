#include "attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include <ATen/ATen.h>
#include <torch/version.h>

#include "onednn_ops.hpp"

namespace diffgraph::models {

namespace {

void check_shapes(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, bool causal) {
  auto fail = [&](const char* what) {
    std::ostringstream message;
    message << "attention: " << what << " (q " << q.sizes() << ", k " << k.sizes() << ", v " << v.sizes()
            << (causal ? ", causal" : "") << ")";
    throw std::invalid_argument(message.str());
  };
  if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4) fail("q, k and v must be [B,H,N,D]");
  if (k.size(0) != q.size(0) || v.size(0) != q.size(0)) fail("batch sizes differ");
  if (k.size(1) != q.size(1) || v.size(1) != q.size(1)) fail("head counts differ");
  if (k.size(3) != q.size(3)) fail("q and k head widths differ");
  if (v.size(2) != k.size(2)) fail("k and v token counts differ");
  if (k.size(2) == 0) fail("no keys to attend to");
  if (causal && q.size(2) != k.size(2)) fail("a causal mask needs as many queries as keys");
}

// Rows per query slice when memory is not the limit. The scores of one slice are written by
// the q·kᵀ GEMM, normalised by softmax and read again by the probs·v GEMM; a slice that stays in
// the last-level cache makes those passes cache hits. 16 MiB (1024 query rows against the 4096
// keys of a 64×64 latent) measured fastest on a 32 MiB-L3 CPU; smaller slices pay per-GEMM
// overheads.
constexpr std::int64_t kCacheFriendlySliceBytes = std::int64_t{16} << 20;

// Up to this many bytes of scores (all batch rows and heads together), attention is one batched
// product instead of the per-head, per-slice loop. That loop issues about fifteen ops per head;
// when each head's work is tiny — the embedded model's 64-token latent, CLIP's 77 tokens — their
// dispatch and thread fork/join cost more than the arithmetic.
#if TORCH_VERSION_MAJOR < 2
constexpr std::int64_t kBatchedScoreBytes = std::int64_t{2} << 20;

// softmax(scale·q·kᵀ)·v over every batch row and head at once (contiguous [B,H,Nq,Dv] result).
// `differentiable`: out-of-place ops only, so autograd can run backward through it.
torch::Tensor attention_batched(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale,
                                bool causal, bool differentiable) {
  torch::Tensor scores = at::matmul(q, k.transpose(-2, -1));
  torch::Tensor mask;
  if (causal) mask = at::ones({q.size(2), k.size(2)}, q.options().dtype(at::kBool)).triu(1);
  const double minus_inf = -std::numeric_limits<double>::infinity();
  if (differentiable) {
    scores = scores * scale;
    if (causal) scores = scores.masked_fill(mask, minus_inf);
    return at::matmul(at::softmax(scores, -1), v);
  }
  scores.mul_(scale);
  if (causal) scores.masked_fill_(mask, minus_inf);
  at::_softmax_out(scores, scores, -1, false);
  return at::matmul(scores, v);
}
#endif

}  // namespace

std::int64_t attention_score_budget_bytes() { return std::int64_t{256} << 20; }

torch::Tensor attention_sliced(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale,
                               bool causal, std::int64_t score_budget_bytes) {
  check_shapes(q, k, v, causal);
  const std::int64_t batch = q.size(0), heads = q.size(1), nq = q.size(2), nk = k.size(2);
  const std::int64_t dv = v.size(3);

  // The output is laid out [B,Nq,H,Dv] and returned as a [B,H,Nq,Dv] view: every caller merges
  // the heads back with transpose(1,2).reshape(B,Nq,H·Dv), which is then free.
  torch::Tensor out = at::empty({batch, nq, heads, dv}, q.options());
  if (nq == 0) return out.permute({0, 2, 1, 3});

  const std::int64_t row_bytes = nk * static_cast<std::int64_t>(q.element_size());
  const std::int64_t budget_rows = std::max<std::int64_t>(1, score_budget_bytes / row_bytes);
  const std::int64_t cache_rows = std::max<std::int64_t>(64, kCacheFriendlySliceBytes / row_bytes);
  const std::int64_t slice_rows = std::min({nq, budget_rows, cache_rows});

  // On CPU the two GEMMs run on oneDNN, on the same thread pool as the softmax (see
  // onednn_ops.hpp); elsewhere on BLAS (cuBLAS), into one reused score buffer.
  const bool onednn = onednn_usable(q);

  // One score buffer for all slices and heads (BLAS path): fresh multi-megabyte allocations are
  // returned to the OS and page-faulted back in each time.
  torch::Tensor scores_buffer = onednn ? torch::Tensor() : at::empty({slice_rows, nk}, q.options());
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t h = 0; h < heads; ++h) {
      // [N, D] matrices with unit column stride (views of the [B,N,H·D] projections).
      const torch::Tensor q_bh = q.select(0, b).select(0, h);
      const torch::Tensor k_bh = k.select(0, b).select(0, h);
      const torch::Tensor v_bh = v.select(0, b).select(0, h);
      // As weights of a linear map over rows: scores = q·(scale·k)ᵀ, out = probs·(vᵀ)ᵀ.
      torch::Tensor k_scaled, v_t;
      if (onednn) {
        k_scaled = k_bh * scale;
        v_t = v_bh.t().contiguous();
      }
      for (std::int64_t start = 0; start < nq; start += slice_rows) {
        const std::int64_t rows = std::min(slice_rows, nq - start);
        const torch::Tensor q_slice = q_bh.narrow(0, start, rows);
        torch::Tensor out_slice = out.select(0, b).select(1, h).narrow(0, start, rows);
        torch::Tensor scores;
        if (onednn) {
          scores = onednn_linear(q_slice, k_scaled, {});
        } else {
          scores = scores_buffer.narrow(0, 0, rows);
          // beta 0: the buffer's old contents are not read.
          at::addmm_out(scores, scores, q_slice, k_bh.t(), /*beta=*/0, /*alpha=*/scale);
        }
        if (causal) {
          // Query start+i may see keys j ≤ start+i: mask j − i ≥ start+1.
          scores.masked_fill_(at::ones({rows, nk}, q.options().dtype(at::kBool)).triu_(start + 1),
                              -std::numeric_limits<double>::infinity());
        }
        // Row-wise softmax in place: the kernel reads a row fully before writing it.
        at::_softmax_out(scores, scores, -1, false);
        if (onednn) {
          out_slice.copy_(onednn_linear(scores, v_t, {}));
        } else {
          at::mm_out(out_slice, scores, v_bh);
        }
      }
    }
  }
  return out.permute({0, 2, 1, 3});
}

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale,
                        bool causal) {
#if TORCH_VERSION_MAJOR >= 2
  check_shapes(q, k, v, causal);
#if TORCH_VERSION_MAJOR > 2 || TORCH_VERSION_MINOR >= 1
  return at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0, causal, scale);
#else
  // 2.0's kernel always scales by D^-1/2: pre-scale q so the product carries `scale`.
  const double q_factor = scale * std::sqrt(static_cast<double>(q.size(3)));
  return at::scaled_dot_product_attention(q * q_factor, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0, causal);
#endif
#else
  check_shapes(q, k, v, causal);
  // Training (grad mode on, inputs requiring grad) needs the out-of-place composition: the
  // sliced path writes into preallocated outputs (out= ops), which autograd cannot differentiate.
  const bool differentiable =
      at::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad());
  const std::int64_t score_bytes =
      q.size(0) * q.size(1) * q.size(2) * k.size(2) * static_cast<std::int64_t>(q.element_size());
  if (differentiable || score_bytes <= kBatchedScoreBytes) return attention_batched(q, k, v, scale, causal, differentiable);
  return attention_sliced(q, k, v, scale, causal, attention_score_budget_bytes());
#endif
}

}  // namespace diffgraph::models
