// Attention entry points: shape/dtype/parameter checks, then the host loops or the CUDA kernels.
#include "kernels/attention.h"

#include <fmt/format.h>

#include "kernels/cpu/attention.h"
#ifdef ME_WITH_CUDA
#include "kernels/cuda/attention.h"
#include "kernels/cuda/attention_cudnn.h"
#endif
#include "kernels/op_checks.h"

namespace me {

namespace {

// q (B, T, Hq, D); k, v (B, T, Hkv, D), Hq % Hkv == 0; lse (B, Hq, T) in accum_dtype.
void check_args(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                const Tensor& out, const Tensor& lse, const AttentionParams& params) {
  check_float(op, "q", q);
  ME_CHECK(q.ndim() == 4, "{}: q is {}, expected (B, T, Hq, D)", op, q.describe());
  check_dtype(op, "k", k, q.dtype());
  ME_CHECK(k.ndim() == 4 && k.dim(0) == q.dim(0) && k.dim(1) == q.dim(1) && k.dim(3) == q.dim(3) &&
               k.dim(2) > 0 && q.dim(2) % k.dim(2) == 0,
           "{}: k is {} for q {}; expected (B, T, Hkv, D) with Hq % Hkv == 0", op, k.describe(),
           q.describe());
  check_like(op, "v", v, k);
  check_like(op, "out", out, q);
  check_dtype(op, "lse", lse, accum_dtype(q.dtype()));
  check_shape(op, "lse", lse, {q.dim(0), q.dim(2), q.dim(1)});
  if (params.document_ids.defined()) {
    check_dtype(op, "document_ids", params.document_ids, DType::kI32);
    check_shape(op, "document_ids", params.document_ids, {q.dim(0), q.dim(1)});
  }
  if (!(params.dropout_p >= 0.0 && params.dropout_p < 1.0)) {
    throw Error(fmt::format("{}: attention dropout {} is not in [0, 1)", op, params.dropout_p));
  }
  const int64_t total = params.total_heads == 0 ? q.dim(2) : params.total_heads;
  if (params.head_offset < 0 || params.head_offset + q.dim(2) > total) {
    throw Error(fmt::format("{}: heads [{}, {}) of q {} are not within total_heads {}", op,
                            params.head_offset, params.head_offset + q.dim(2), q.describe(),
                            total));
  }
}

// qkv (B, T, G * (Hq/G + 2) * D) against q (B, T, Hq, D), k and v (B, T, G, D).
void check_split(const char* op, const Tensor& qkv, const Tensor& q, const Tensor& k,
                 const Tensor& v) {
  ME_CHECK(q.ndim() == 4, "{}: q is {}, expected (B, T, Hq, D)", op, q.describe());
  ME_CHECK(k.ndim() == 4 && k.dim(2) > 0 && q.dim(2) % k.dim(2) == 0,
           "{}: k is {} for q {}; expected (B, T, G, D) with Hq % G == 0", op, k.describe(),
           q.describe());
  check_shape(op, "k", k, {q.dim(0), q.dim(1), k.dim(2), q.dim(3)});
  check_dtype(op, "k", k, q.dtype());
  check_like(op, "v", v, k);
  const int64_t g = k.dim(2);
  check_dtype(op, "qkv", qkv, q.dtype());
  check_shape(op, "qkv", qkv, {q.dim(0), q.dim(1), g * (q.dim(2) / g + 2) * q.dim(3)});
}

}  // namespace

void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out, Tensor& lse,
                       const AttentionParams& params) {
  constexpr const char* op = "attention_forward";
  check_args(op, q, k, v, out, lse, params);
  if (!on_cpu(op, q, k, v, out, lse, params.document_ids)) {
    ME_CUDA_OP(op, cuda::attention_forward(q, k, v, out, lse, params));
    return;
  }
  cpu::attention_forward(q, k, v, out, lse, params);
}

void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                        const Tensor& lse, const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv,
                        const AttentionParams& params) {
  constexpr const char* op = "attention_backward";
  check_args(op, q, k, v, out, lse, params);
  check_like(op, "dout", dout, q);
  check_like(op, "dq", dq, q);
  check_like(op, "dk", dk, k);
  check_like(op, "dv", dv, k);
  if (!on_cpu(op, q, k, v, out, lse, dout, dq, dk, dv, params.document_ids)) {
    ME_CUDA_OP(op, cuda::attention_backward(q, k, v, out, lse, dout, dq, dk, dv, params));
    return;
  }
  cpu::attention_backward(q, k, v, out, lse, dout, dq, dk, dv, params);
}

void split_qkv_forward(const Tensor& qkv, Tensor& q, Tensor& k, Tensor& v) {
  check_split("split_qkv_forward", qkv, q, k, v);
  if (!on_cpu("split_qkv_forward", qkv, q, k, v)) {
    ME_CUDA_OP("split_qkv_forward", cuda::split_qkv_forward(qkv, q, k, v));
    return;
  }
  cpu::split_qkv_forward(qkv, q, k, v);
}

void split_qkv_backward(const Tensor& dq, const Tensor& dk, const Tensor& dv, Tensor& dqkv) {
  check_split("split_qkv_backward", dqkv, dq, dk, dv);
  if (!on_cpu("split_qkv_backward", dq, dk, dv, dqkv)) {
    ME_CUDA_OP("split_qkv_backward", cuda::split_qkv_backward(dq, dk, dv, dqkv));
    return;
  }
  cpu::split_qkv_backward(dq, dk, dv, dqkv);
}

namespace {

// The heads of a fused multi-head projection as separate tensors.
struct SplitHeads {
  Tensor q, k, v;
};
SplitHeads split_heads(const Tensor& qkv, const Tensor& out) {
  SplitHeads s{Tensor::empty(out.shape(), qkv.dtype(), qkv.device()),
               Tensor::empty(out.shape(), qkv.dtype(), qkv.device()),
               Tensor::empty(out.shape(), qkv.dtype(), qkv.device())};
  split_qkv_forward(qkv, s.q, s.k, s.v);
  return s;
}

}  // namespace

// cuDNN reads the heads in place (its conditions checked on out, as for separate q, k, v).
bool attention_reads_qkv_in_place(const Tensor& qkv, const Tensor& out,
                                  const AttentionParams& params) {
#ifdef ME_WITH_CUDA
  return !qkv.device().is_cpu() && cuda::cudnn_attention_applies(out, params);
#else
  return false;
#endif
}

void attention_forward_qkv(const Tensor& qkv, Tensor& out, Tensor& lse,
                           const AttentionParams& params) {
  constexpr const char* op = "attention_forward_qkv";
  ME_CHECK(out.ndim() == 4, "{}: out is {}, expected (B, T, H, D)", op, out.describe());
  check_shape(op, "qkv", qkv, {out.dim(0), out.dim(1), 3 * out.dim(2) * out.dim(3)});
  if (!attention_reads_qkv_in_place(qkv, out, params)) {
    const SplitHeads s = split_heads(qkv, out);
    attention_forward(s.q, s.k, s.v, out, lse, params);
    return;
  }
  check_args(op, out, out, out, out, lse, params);
  check_dtype(op, "qkv", qkv, out.dtype());
  ME_CUDA_OP(op, cuda::cudnn_attention_forward_qkv(qkv, out, lse, params));
}

void attention_backward_qkv(const Tensor& qkv, const Tensor& out, const Tensor& lse,
                            const Tensor& dout, Tensor& dqkv, const AttentionParams& params) {
  constexpr const char* op = "attention_backward_qkv";
  ME_CHECK(out.ndim() == 4, "{}: out is {}, expected (B, T, H, D)", op, out.describe());
  check_shape(op, "qkv", qkv, {out.dim(0), out.dim(1), 3 * out.dim(2) * out.dim(3)});
  check_like(op, "dqkv", dqkv, qkv);
  if (!attention_reads_qkv_in_place(qkv, out, params)) {
    const SplitHeads s = split_heads(qkv, out);
    Tensor dq = Tensor::empty(out.shape(), dout.dtype(), dout.device());
    Tensor dk = Tensor::empty(out.shape(), dout.dtype(), dout.device());
    Tensor dv = Tensor::empty(out.shape(), dout.dtype(), dout.device());
    attention_backward(s.q, s.k, s.v, out, lse, dout, dq, dk, dv, params);
    split_qkv_backward(dq, dk, dv, dqkv);
    return;
  }
  check_args(op, out, out, out, out, lse, params);
  check_dtype(op, "qkv", qkv, out.dtype());
  check_like(op, "dout", dout, out);
  ME_CUDA_OP(op, cuda::cudnn_attention_backward_qkv(qkv, out, lse, dout, dqkv, params));
}

}  // namespace me
