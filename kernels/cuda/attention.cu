// CUDA attention in the flash contract with straightforward kernels (correctness first; cuDNN SDPA
// comes later): a warp per query row for the forward and dq, a warp per key row for dk and dv, so
// no two warps write one element and every sum runs in the CPU reference's order (keys j for a
// query row; query heads h then rows i for a key row). Scores are recomputed instead of stored;
// keys of another document (params.document_ids) are skipped as the host does.
#include "kernels/cuda/attention.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/dropout_keep.h"

namespace me::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kWarpsPerBlock = kThreads / kWarp;
constexpr int kMaxHeadDim = 256;
constexpr int kPerLane = kMaxHeadDim / kWarp;  // head-dim elements each lane holds

struct Dims {
  int64_t b, t, hq, hkv, d;
  float scale;
  bool causal;
  float dropout_p;
  float keep_scale;
  uint64_t seed, stream;
  const int32_t* documents;  // (B, T) document id per token, or null: one document per sequence
  __device__ int64_t q_at(int64_t bi, int64_t ti, int64_t h) const {
    return ((bi * t + ti) * hq + h) * d;
  }
  __device__ int64_t kv_at(int64_t bi, int64_t ti, int64_t h) const {
    return ((bi * t + ti) * hkv + h) * d;
  }
  // z for probability index ((b * Hq + h) * T + i) * T + j: 1, or keep / (1 - p).
  __device__ float mask(uint64_t index) const {
    if (dropout_p == 0.0f) return 1.0f;
    return dropout_keep(seed, stream, index, dropout_p) ? keep_scale : 0.0f;
  }
  // Whether query i of sequence bi may see key j (already within the causal range).
  __device__ bool visible(int64_t bi, int64_t i, int64_t j) const {
    return documents == nullptr || documents[bi * t + i] == documents[bi * t + j];
  }
};

__device__ float warp_sum(float v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ void load_row(const float* src, int64_t d, int lane, float* reg) {
#pragma unroll
  for (int k = 0; k < kPerLane; ++k) {
    const int64_t x = lane + k * kWarp;
    reg[k] = x < d ? src[x] : 0.0f;
  }
}

// The dot product of a row held in registers with a row in memory (the same sum in every lane).
__device__ float dot_row(const float* reg, const float* src, int64_t d, int lane) {
  float acc = 0.0f;
#pragma unroll
  for (int k = 0; k < kPerLane; ++k) {
    const int64_t x = lane + k * kWarp;
    if (x < d) acc += reg[k] * src[x];
  }
  return warp_sum(acc);
}

__device__ int64_t warp_index() {
  return static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarp;
}

// Row r = (b * Hq + h) * T + i: max, sum of exponentials, then the weighted sum of values.
__global__ void attention_forward_kernel(const float* q, const float* k, const float* v, float* out,
                                         float* lse, Dims s) {
  const int64_t r = warp_index();
  const int lane = threadIdx.x % kWarp;
  if (r >= s.b * s.hq * s.t) return;
  const int64_t i = r % s.t, h = (r / s.t) % s.hq, bi = r / (s.t * s.hq);
  const int64_t kvh = h / (s.hq / s.hkv);
  float qi[kPerLane];
  load_row(q + s.q_at(bi, i, h), s.d, lane, qi);
  const int64_t len = s.causal ? i + 1 : s.t;
  float m = -INFINITY;
  for (int64_t j = 0; j < len; ++j) {
    if (s.visible(bi, i, j))
      m = fmaxf(m, s.scale * dot_row(qi, k + s.kv_at(bi, j, kvh), s.d, lane));
  }
  float sum = 0.0f;
  for (int64_t j = 0; j < len; ++j) {
    if (s.visible(bi, i, j))
      sum += expf(s.scale * dot_row(qi, k + s.kv_at(bi, j, kvh), s.d, lane) - m);
  }
  const float row_lse = m + logf(sum);
  float acc[kPerLane] = {};
  for (int64_t j = 0; j < len; ++j) {
    if (!s.visible(bi, i, j)) continue;
    const float score = s.scale * dot_row(qi, k + s.kv_at(bi, j, kvh), s.d, lane);
    const float w = expf(score - row_lse) * s.mask(static_cast<uint64_t>(r * s.t + j));
    const float* vj = v + s.kv_at(bi, j, kvh);
#pragma unroll
    for (int c = 0; c < kPerLane; ++c) {
      const int64_t x = lane + c * kWarp;
      if (x < s.d) acc[c] += w * vj[x];
    }
  }
  float* oi = out + s.q_at(bi, i, h);
#pragma unroll
  for (int c = 0; c < kPerLane; ++c) {
    const int64_t x = lane + c * kWarp;
    if (x < s.d) oi[x] = acc[c];
  }
  if (lane == 0) lse[r] = row_lse;
}

// dq for row r, and delta[r] = dout_r . out_r (= sum_j p_j dP_j) for the dk/dv kernel.
__global__ void attention_dq_kernel(const float* q, const float* k, const float* v,
                                    const float* out, const float* lse, const float* dout,
                                    float* dq, float* delta, Dims s) {
  const int64_t r = warp_index();
  const int lane = threadIdx.x % kWarp;
  if (r >= s.b * s.hq * s.t) return;
  const int64_t i = r % s.t, h = (r / s.t) % s.hq, bi = r / (s.t * s.hq);
  const int64_t kvh = h / (s.hq / s.hkv);
  float qi[kPerLane], doi[kPerLane];
  load_row(q + s.q_at(bi, i, h), s.d, lane, qi);
  load_row(dout + s.q_at(bi, i, h), s.d, lane, doi);
  const float di = dot_row(doi, out + s.q_at(bi, i, h), s.d, lane);
  const int64_t len = s.causal ? i + 1 : s.t;
  float acc[kPerLane] = {};
  for (int64_t j = 0; j < len; ++j) {
    if (!s.visible(bi, i, j)) continue;
    const float* kj = k + s.kv_at(bi, j, kvh);
    const float p = expf(s.scale * dot_row(qi, kj, s.d, lane) - lse[r]);
    const float z = s.mask(static_cast<uint64_t>(r * s.t + j));
    const float dscore = s.scale * p * (z * dot_row(doi, v + s.kv_at(bi, j, kvh), s.d, lane) - di);
#pragma unroll
    for (int c = 0; c < kPerLane; ++c) {
      const int64_t x = lane + c * kWarp;
      if (x < s.d) acc[c] += dscore * kj[x];
    }
  }
  float* dqi = dq + s.q_at(bi, i, h);
#pragma unroll
  for (int c = 0; c < kPerLane; ++c) {
    const int64_t x = lane + c * kWarp;
    if (x < s.d) dqi[x] = acc[c];
  }
  if (lane == 0) delta[r] = di;
}

// dk, dv for key row (b, kv head, j), over the query heads of its group and the rows that see it.
__global__ void attention_dkdv_kernel(const float* q, const float* k, const float* v,
                                      const float* lse, const float* dout, const float* delta,
                                      float* dk, float* dv, Dims s) {
  const int64_t w = warp_index();
  const int lane = threadIdx.x % kWarp;
  if (w >= s.b * s.hkv * s.t) return;
  const int64_t j = w % s.t, kvh = (w / s.t) % s.hkv, bi = w / (s.t * s.hkv);
  const int64_t group = s.hq / s.hkv;
  float kj[kPerLane], vj[kPerLane];
  load_row(k + s.kv_at(bi, j, kvh), s.d, lane, kj);
  load_row(v + s.kv_at(bi, j, kvh), s.d, lane, vj);
  float dk_acc[kPerLane] = {}, dv_acc[kPerLane] = {};
  for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h) {
    for (int64_t i = s.causal ? j : 0; i < s.t; ++i) {
      if (!s.visible(bi, i, j)) continue;
      const int64_t r = (bi * s.hq + h) * s.t + i;
      const float* qi = q + s.q_at(bi, i, h);
      const float* doi = dout + s.q_at(bi, i, h);
      const float p = expf(s.scale * dot_row(kj, qi, s.d, lane) - lse[r]);
      const float z = s.mask(static_cast<uint64_t>(r * s.t + j));
      const float dscore = s.scale * p * (z * dot_row(vj, doi, s.d, lane) - delta[r]);
#pragma unroll
      for (int c = 0; c < kPerLane; ++c) {
        const int64_t x = lane + c * kWarp;
        if (x < s.d) {
          dk_acc[c] += dscore * qi[x];
          dv_acc[c] += p * z * doi[x];
        }
      }
    }
  }
#pragma unroll
  for (int c = 0; c < kPerLane; ++c) {
    const int64_t x = lane + c * kWarp;
    if (x < s.d) {
      dk[s.kv_at(bi, j, kvh) + x] = dk_acc[c];
      dv[s.kv_at(bi, j, kvh) + x] = dv_acc[c];
    }
  }
}

// Element copies between the fused QKV row [q heads of group g | k_g | v_g]... and q, k, v.
template <typename E, bool kBackward>
__global__ void split_qkv_kernel(E* qkv, E* q, E* k, E* v, int64_t tokens, int64_t hq, int64_t g,
                                 int64_t d) {
  const int64_t per_group = (hq / g + 2) * d;
  const int64_t total = tokens * g * per_group;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t tok = idx / (g * per_group), rem = idx % (g * per_group);
    const int64_t gi = rem / per_group, slot = (rem % per_group) / d, x = rem % d;
    const int64_t heads = hq / g;
    E* part;
    if (slot < heads) {
      part = q + (tok * hq + gi * heads + slot) * d + x;
    } else {
      part = (slot == heads ? k : v) + (tok * g + gi) * d + x;
    }
    if (kBackward) {
      qkv[idx] = *part;
    } else {
      *part = qkv[idx];
    }
  }
}

Dims dims_of(const Tensor& q, const Tensor& k, const AttentionParams& params) {
  if (q.dim(3) > kMaxHeadDim) {
    throw Error(fmt::format("attention: head dim {} exceeds the CUDA kernel's limit {}", q.dim(3),
                            kMaxHeadDim));
  }
  return {q.dim(0),
          q.dim(1),
          q.dim(2),
          k.dim(2),
          q.dim(3),
          static_cast<float>(params.scale),
          params.causal,
          static_cast<float>(params.dropout_p),
          static_cast<float>(1.0 / (1.0 - params.dropout_p)),
          params.seed,
          params.stream,
          params.document_ids.defined() ? params.document_ids.data<int32_t>() : nullptr};
}

template <bool kBackward>
void split_launch(const Tensor& qkv, const Tensor& q, const Tensor& k, const Tensor& v) {
  const int64_t tokens = q.dim(0) * q.dim(1), hq = q.dim(2), g = k.dim(2), d = q.dim(3);
  if (qkv.numel() == 0) return;
  const Context& ctx = context(qkv.device());
  const unsigned grid = grid_for(qkv.numel());
  auto run = [&](auto tag) {
    using E = decltype(tag);
    split_qkv_kernel<E, kBackward><<<grid, kThreads, 0, ctx.stream>>>(
        static_cast<E*>(qkv.raw_data()), static_cast<E*>(q.raw_data()),
        static_cast<E*>(k.raw_data()), static_cast<E*>(v.raw_data()), tokens, hq, g, d);
  };
  switch (dtype_size(q.dtype())) {
    case 2:
      run(uint16_t{});
      break;
    case 4:
      run(uint32_t{});
      break;
    case 8:
      run(uint64_t{});
      break;
    default:
      ME_CHECK(false, "split_qkv: element size of {}", dtype_name(q.dtype()));
  }
  ME_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out, Tensor& lse,
                       const AttentionParams& params) {
  require_f32("attention_forward", "q", q);
  const Dims s = dims_of(q, k, params);
  const int64_t rows = s.b * s.hq * s.t;
  if (rows == 0) return;
  const Context& ctx = context(q.device());
  attention_forward_kernel<<<ceil_div(rows, kWarpsPerBlock), kThreads, 0, ctx.stream>>>(
      fptr(q), fptr(k), fptr(v), fptr(out), fptr(lse), s);
  ME_CUDA_CHECK(cudaGetLastError());
}

void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                        const Tensor& lse, const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv,
                        const AttentionParams& params) {
  require_f32("attention_backward", "q", q);
  const Dims s = dims_of(q, k, params);
  const int64_t rows = s.b * s.hq * s.t;
  if (rows == 0) return;
  const Context& ctx = context(q.device());
  Tensor delta = Tensor::empty({rows}, DType::kF32, q.device());
  attention_dq_kernel<<<ceil_div(rows, kWarpsPerBlock), kThreads, 0, ctx.stream>>>(
      fptr(q), fptr(k), fptr(v), fptr(out), fptr(lse), fptr(dout), fptr(dq), fptr(delta), s);
  ME_CUDA_CHECK(cudaGetLastError());
  const int64_t key_rows = s.b * s.hkv * s.t;
  attention_dkdv_kernel<<<ceil_div(key_rows, kWarpsPerBlock), kThreads, 0, ctx.stream>>>(
      fptr(q), fptr(k), fptr(v), fptr(lse), fptr(dout), fptr(delta), fptr(dk), fptr(dv), s);
  ME_CUDA_CHECK(cudaGetLastError());
}

void split_qkv_forward(const Tensor& qkv, Tensor& q, Tensor& k, Tensor& v) {
  split_launch<false>(qkv, q, k, v);
}

void split_qkv_backward(const Tensor& dq, const Tensor& dk, const Tensor& dv, Tensor& dqkv) {
  split_launch<true>(dqkv, dq, dk, dv);
}

}  // namespace me::cuda
