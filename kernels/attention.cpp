// Attention entry points: every argument checked once (me::Error naming it), then the host loops
// or the CUDA kernels.
#include "kernels/attention.h"

#include <fmt/format.h>

#include <algorithm>

#include "kernels/cpu/attention.h"
#ifdef ME_WITH_CUDA
#include "kernels/cuda/attention.h"
#include "kernels/cuda/attention_cudnn.h"
#endif
#include "kernels/op_checks.h"

namespace me {

namespace {

// me::Error unless t has this dtype and shape; `layout` names the dimensions for the message.
void require_tensor(const char* op, const char* name, const Tensor& t, DType dtype,
                    const Shape& shape, const char* layout) {
  if (!t.defined() || t.dtype() != dtype || t.shape() != shape) {
    throw Error(fmt::format("{}: {} is {}, expected {}{} {}", op, name, t.describe(),
                            dtype_name(dtype), shape_str(shape), layout));
  }
}

void require(bool ok, const std::string& message) {
  if (!ok) throw Error(message);
}

// q (B, Tq, Hq, D); k, v (B, Tk, Hkv, D), Hq % Hkv == 0; lse (B, Hq, Tq) in accum_dtype; the
// optional tensors of params against those sizes.
void check_args(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                const Tensor& out, const Tensor& lse, const AttentionParams& params) {
  check_float(op, "q", q);
  require(q.ndim() == 4, fmt::format("{}: q is {}, expected (B, Tq, Hq, D)", op, q.describe()));
  const int64_t b = q.dim(0), tq = q.dim(1), hq = q.dim(2), d = q.dim(3);
  require(k.defined() && k.dtype() == q.dtype() && k.ndim() == 4 && k.dim(0) == b &&
              k.dim(3) == d && k.dim(2) > 0 && hq % k.dim(2) == 0,
          fmt::format("{}: k is {} for q {}; expected {} (B, Tk, Hkv, D) with Hq % Hkv == 0", op,
                      k.describe(), q.describe(), dtype_name(q.dtype())));
  const int64_t tk = k.dim(1);
  require_tensor(op, "v", v, k.dtype(), k.shape(), "(B, Tk, Hkv, D), like k");
  require_tensor(op, "out", out, q.dtype(), q.shape(), "(B, Tq, Hq, D), like q");
  require_tensor(op, "lse", lse, accum_dtype(q.dtype()), {b, hq, tq}, "(B, Hq, Tq)");
  require(params.mask == AttentionMask::kCausal || params.mask == AttentionMask::kBidirectional,
          fmt::format("{}: mask {} is neither kCausal nor kBidirectional", op,
                      static_cast<int>(params.mask)));
  if (params.kv_lengths.defined()) {
    require_tensor(op, "kv_lengths", params.kv_lengths, DType::kI32, {b}, "(B)");
  }
  if (params.document_ids.defined()) {
    require_tensor(op, "document_ids", params.document_ids, DType::kI32, {b, tq}, "(B, Tq)");
  }
  if (params.kv_document_ids.defined()) {
    require(params.document_ids.defined(),
            fmt::format("{}: kv_document_ids are given without document_ids for the queries", op));
    require_tensor(op, "kv_document_ids", params.kv_document_ids, DType::kI32, {b, tk}, "(B, Tk)");
  } else if (params.document_ids.defined()) {
    require(tq == tk, fmt::format("{}: document_ids without kv_document_ids need Tq == Tk; q {} "
                                  "and k {} differ",
                                  op, q.describe(), k.describe()));
  }
  if (params.bias.defined()) {
    const Tensor& bias = params.bias;
    const int64_t bb = bias.ndim() == 4 && bias.dim(0) == 1 ? 1 : b;
    require_tensor(op, "bias", bias, q.dtype(), {bb, hq, tq, tk}, "(1 or B, Hq, Tq, Tk)");
  }
  if (!(params.dropout_p >= 0.0 && params.dropout_p < 1.0)) {
    throw Error(fmt::format("{}: attention dropout {} is not in [0, 1)", op, params.dropout_p));
  }
  const int64_t total = params.total_heads == 0 ? hq : params.total_heads;
  if (params.head_offset < 0 || params.head_offset + hq > total) {
    throw Error(fmt::format("{}: heads [{}, {}) of q {} are not within total_heads {}", op,
                            params.head_offset, params.head_offset + hq, q.describe(), total));
  }
}

// dbias needs a bias and takes its shape and dtype.
void check_dbias(const char* op, const Tensor* dbias, const AttentionParams& params) {
  if (dbias == nullptr) return;
  require(params.bias.defined(), fmt::format("{}: dbias is asked for without a bias", op));
  require_tensor(op, "dbias", *dbias, params.bias.dtype(), params.bias.shape(), "like bias");
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

int64_t attention_diagonal_shift(const AttentionParams& params, int64_t tq, int64_t tk) {
  if (params.mask == AttentionMask::kBidirectional) return tk;
  int64_t shift = 0;
  if (__builtin_sub_overflow(params.q_offset, params.kv_offset, &shift)) {
    return params.q_offset > params.kv_offset ? tk : -tq;  // the true difference's side
  }
  // Keys j in [0, Tk) and queries i in [0, Tq): j - i lies in (-Tq, Tk), so shifts beyond
  // [-Tq, Tk] see exactly what the bounds see.
  return std::clamp(shift, -tq, tk);
}

void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out, Tensor& lse,
                       const AttentionParams& params) {
  constexpr const char* op = "attention_forward";
  check_args(op, q, k, v, out, lse, params);
  if (!on_cpu(op, q, k, v, out, lse, params.kv_lengths, params.document_ids, params.kv_document_ids,
              params.bias)) {
    ME_CUDA_OP(op, cuda::attention_forward(q, k, v, out, lse, params));
    return;
  }
  cpu::attention_forward(q, k, v, out, lse, params);
}

void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                        const Tensor& lse, const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv,
                        const AttentionParams& params, Tensor* dbias) {
  constexpr const char* op = "attention_backward";
  check_args(op, q, k, v, out, lse, params);
  require_tensor(op, "dout", dout, q.dtype(), q.shape(), "like q");
  require_tensor(op, "dq", dq, q.dtype(), q.shape(), "like q");
  require_tensor(op, "dk", dk, k.dtype(), k.shape(), "like k");
  require_tensor(op, "dv", dv, k.dtype(), k.shape(), "like k");
  check_dbias(op, dbias, params);
  if (!on_cpu(op, q, k, v, out, lse, dout, dq, dk, dv, params.kv_lengths, params.document_ids,
              params.kv_document_ids, params.bias, dbias ? *dbias : Tensor())) {
    ME_CUDA_OP(op, cuda::attention_backward(q, k, v, out, lse, dout, dq, dk, dv, params, dbias));
    return;
  }
  cpu::attention_backward(q, k, v, out, lse, dout, dq, dk, dv, params, dbias);
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

// cuDNN reads the heads in place (its conditions checked on out, as for separate q, k, v).
bool cudnn_reads_qkv(const Tensor& qkv, const Tensor& out, const AttentionParams& params,
                     bool writes_dbias) {
#ifdef ME_WITH_CUDA
  return !qkv.device().is_cpu() && cuda::cudnn_attention_applies(out, out, params, writes_dbias);
#else
  (void)qkv, (void)out, (void)params, (void)writes_dbias;
  return false;
#endif
}

}  // namespace

bool attention_reads_qkv_in_place(const Tensor& qkv, const Tensor& out,
                                  const AttentionParams& params) {
  return cudnn_reads_qkv(qkv, out, params, false);
}

void attention_forward_qkv(const Tensor& qkv, Tensor& out, Tensor& lse,
                           const AttentionParams& params) {
  constexpr const char* op = "attention_forward_qkv";
  require(out.ndim() == 4, fmt::format("{}: out is {}, expected (B, T, H, D)", op, out.describe()));
  require_tensor(op, "qkv", qkv, out.dtype(), {out.dim(0), out.dim(1), 3 * out.dim(2) * out.dim(3)},
                 "(B, T, H * 3 * D)");
  if (!cudnn_reads_qkv(qkv, out, params, false)) {
    const SplitHeads s = split_heads(qkv, out);
    attention_forward(s.q, s.k, s.v, out, lse, params);
    return;
  }
  check_args(op, out, out, out, out, lse, params);
  (void)on_cpu(op, qkv, out, lse, params.kv_lengths, params.bias);  // one device, else ME_CHECK
  ME_CUDA_OP(op, cuda::cudnn_attention_forward_qkv(qkv, out, lse, params));
}

void attention_backward_qkv(const Tensor& qkv, const Tensor& out, const Tensor& lse,
                            const Tensor& dout, Tensor& dqkv, const AttentionParams& params,
                            Tensor* dbias) {
  constexpr const char* op = "attention_backward_qkv";
  require(out.ndim() == 4, fmt::format("{}: out is {}, expected (B, T, H, D)", op, out.describe()));
  require_tensor(op, "qkv", qkv, out.dtype(), {out.dim(0), out.dim(1), 3 * out.dim(2) * out.dim(3)},
                 "(B, T, H * 3 * D)");
  require_tensor(op, "dqkv", dqkv, qkv.dtype(), qkv.shape(), "like qkv");
  check_dbias(op, dbias, params);
  if (!cudnn_reads_qkv(qkv, out, params, dbias != nullptr)) {
    const SplitHeads s = split_heads(qkv, out);
    Tensor dq = Tensor::empty(out.shape(), dout.dtype(), dout.device());
    Tensor dk = Tensor::empty(out.shape(), dout.dtype(), dout.device());
    Tensor dv = Tensor::empty(out.shape(), dout.dtype(), dout.device());
    attention_backward(s.q, s.k, s.v, out, lse, dout, dq, dk, dv, params, dbias);
    split_qkv_backward(dq, dk, dv, dqkv);
    return;
  }
  check_args(op, out, out, out, out, lse, params);
  require_tensor(op, "dout", dout, out.dtype(), out.shape(), "like out");
  (void)on_cpu(op, qkv, out, lse, dout, dqkv, params.kv_lengths, params.bias,
               dbias ? *dbias : Tensor());  // one device, else ME_CHECK
  ME_CUDA_OP(op, cuda::cudnn_attention_backward_qkv(qkv, out, lse, dout, dqkv, params, dbias));
}

}  // namespace me
