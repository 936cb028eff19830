// CUDA attention in the flash contract. What cuDNN's fused attention supports goes there
// (attention_cudnn.cu); everything else runs these FlashAttention-2-style kernels in f32
// arithmetic (f32, bf16 or f16 storage, staged through f32 shared-memory tiles): 64x64 query/key
// tiles in shared memory, 256 threads each owning a 4x4 block of the score tile. Forward: online
// softmax over the key tiles a query tile can see. Backward: delta = rowsum(dout * out), dk/dv per
// key tile over its group's query tiles, dq (and the score gradients dbias sums) per query tile:
// each output has one owner and a fixed sum order (bitwise repeatable).
#include "kernels/cuda/attention.h"
#include "kernels/cuda/attention_cudnn.h"

#include <type_traits>

#include "kernels/cuda/lane_reduce.cuh"
#include "kernels/cuda/storage.cuh"
#include "kernels/dropout_keep.h"

namespace me::cuda {
namespace {

constexpr int kTile = 64;             // query rows and key rows per tile
constexpr int kSide = 16;             // threads along each side of the 64x64 score tile
constexpr int kPer = kTile / kSide;   // score rows (and columns) each thread owns
constexpr int kScoreLd = kTile + 16;  // score tile row stride: rows ty and ty+1 hit other banks
constexpr int kMaxHeadDim = 128;      // kernels are instantiated for head dims up to 64 and 128
static_assert(kSide * kSide == kThreads, "one thread per 4x4 block of the score tile");

struct Dims {
  int64_t b, tq, tk, hq, hkv;
  int d;
  float scale;
  int64_t shift;  // query i sees keys j <= i + shift (attention_diagonal_shift)
  float dropout_p;
  float keep_scale;
  uint64_t seed, stream;
  int64_t mask_heads, head_offset;  // the mask's head numbering (AttentionParams)
  const int32_t* kv_lengths;        // (B) keys before the padding, or null: no padding
  const int32_t* q_docs;      // (B, Tq) document id per query, or null: one document per sequence
  const int32_t* kv_docs;     // (B, Tk) per key; q_docs when the keys share the queries' ids
  int64_t bias_batch_stride;  // Hq Tq Tk between samples of the bias, 0 when broadcast (Bb = 1)

  // Keys of sample b before its padding, clamped to [0, Tk] so no length reads outside k, v.
  __device__ int64_t kv_length(int64_t bi) const {
    return kv_lengths == nullptr ? tk
                                 : min(max(static_cast<int64_t>(kv_lengths[bi]), int64_t{0}), tk);
  }
  // The key tiles query rows [q0, q0 + kTile) visit: keys [0, key_end).
  __device__ int64_t key_end(int64_t length, int64_t q0) const {
    return max(int64_t{0}, min(length, min(q0 + kTile, tq) - 1 + shift + 1));
  }
  // The first query tile that can see key k0.
  __device__ int64_t query_tile_begin(int64_t k0) const {
    return max(int64_t{0}, k0 - shift) / kTile * kTile;
  }
  // First mask index of (b, h)'s rows: (b * H + head_offset + h) * Tq, H the mask's head count.
  __device__ int64_t mask_row(int64_t bi, int64_t h) const {
    return (bi * mask_heads + head_offset + h) * tq;
  }
  // z for probability index (mask_row(b, h) + i) * Tk + j: 1, or keep / (1 - p).
  __device__ float mask(int64_t index) const {
    if (dropout_p == 0.0f) return 1.0f;
    return dropout_keep(seed, stream, static_cast<uint64_t>(index), dropout_p) ? keep_scale : 0.0f;
  }
  __device__ int32_t q_doc(int64_t bi, int64_t i) const {
    return q_docs != nullptr && i < tq ? q_docs[bi * tq + i] : 0;
  }
  __device__ int32_t kv_doc(int64_t bi, int64_t j) const {
    return kv_docs != nullptr && j < tk ? kv_docs[bi * tk + j] : 0;
  }
  // Query i sees key j: a real query, a key before the padding, within the causal shift, same
  // document (ids cached per tile).
  __device__ bool visible(int64_t i, int64_t j, int64_t length, int32_t doc_i,
                          int32_t doc_j) const {
    return i < tq && j < length && j <= i + shift && doc_i == doc_j;
  }
  // The bias rows (Tq, Tk) of (b, h), or null.
  template <typename T>
  __device__ const T* bias_rows(const T* bias, int64_t bi, int64_t h) const {
    return bias == nullptr ? nullptr : bias + bi * bias_batch_stride + h * tq * tk;
  }
  template <typename T>
  __device__ float bias_at(const T* rows, int64_t i, int64_t j) const {
    return rows == nullptr ? 0.0f : load(rows[i * tk + j]);
  }
};

// Shared-memory row stride of a (kTile, kMaxD) tile: the +1 spreads a column over all banks.
template <int kMaxD>
constexpr int kLd = kMaxD + 1;

// Rows [row0, row0 + kTile) of one head (`stride` floats between rows) into a shared tile, zero
// past T and past d.
template <int kMaxD, typename T>
__device__ void load_tile(float* dst, const T* src, int64_t row0, int64_t t, int64_t stride,
                          int d) {
  for (int e = threadIdx.x; e < kTile * kMaxD; e += kThreads) {
    const int r = e / kMaxD, x = e % kMaxD;
    dst[r * kLd<kMaxD> + x] = row0 + r < t && x < d ? load(src[(row0 + r) * stride + x]) : 0.0f;
  }
}

// Reductions over the kSide threads (half a warp) that share a score row.
__device__ float row_max(float v) { return lane_max<kSide>(v); }
__device__ float row_sum(float v) { return lane_sum<kSide>(v); }

// sc[r][c] += a_row . b_col over d for this thread's rows (ty + 16r) of tile a and rows
// (tx + 16c) of tile b: a score block of a * b^T.
template <int kMaxD>
__device__ void tile_dot(const float* a, const float* b, int d, float (&sc)[kPer][kPer]) {
  const int tx = threadIdx.x % kSide, ty = threadIdx.x / kSide;
#pragma unroll 2
  for (int x = 0; x < d; ++x) {
    float av[kPer], bv[kPer];
#pragma unroll
    for (int r = 0; r < kPer; ++r) av[r] = a[(ty + r * kSide) * kLd<kMaxD> + x];
#pragma unroll
    for (int c = 0; c < kPer; ++c) bv[c] = b[(tx + c * kSide) * kLd<kMaxD> + x];
#pragma unroll
    for (int r = 0; r < kPer; ++r)
#pragma unroll
      for (int c = 0; c < kPer; ++c) sc[r][c] = fmaf(av[r], bv[c], sc[r][c]);
  }
}

// acc[r][c] += sum_n w[ty + 16r][n] * tile[n][tx + 16c]: a score tile times a (kTile, d) tile.
template <int kMaxD>
__device__ void tile_accumulate(const float* w, const float* tile,
                                float (&acc)[kPer][kMaxD / kSide]) {
  const int tx = threadIdx.x % kSide, ty = threadIdx.x / kSide;
  for (int n = 0; n < kTile; ++n) {
    float wv[kPer];
#pragma unroll
    for (int r = 0; r < kPer; ++r) wv[r] = w[(ty + r * kSide) * kScoreLd + n];
#pragma unroll
    for (int c = 0; c < kMaxD / kSide; ++c) {
      const float tv = tile[n * kLd<kMaxD> + tx + c * kSide];
#pragma unroll
      for (int r = 0; r < kPer; ++r) acc[r][c] = fmaf(wv[r], tv, acc[r][c]);
    }
  }
}

// Writes this thread's rows (row0 + ty + 16r) and columns (tx + 16c) of acc to a head's rows.
template <int kMaxD, typename T>
__device__ void store_rows(T* dst, int64_t row0, int64_t t, int64_t stride, int d,
                           const float (&acc)[kPer][kMaxD / kSide]) {
  const int tx = threadIdx.x % kSide, ty = threadIdx.x / kSide;
#pragma unroll
  for (int r = 0; r < kPer; ++r) {
    const int64_t i = row0 + ty + r * kSide;
#pragma unroll
    for (int c = 0; c < kMaxD / kSide; ++c) {
      const int x = tx + c * kSide;
      if (i < t && x < d) dst[i * stride + x] = store_as<T>(acc[r][c]);
    }
  }
}

// Per-query-row values of a query tile for the backward kernels (zero past Tq).
struct RowCache {
  int32_t doc[kTile];
  float lse[kTile], delta[kTile];
  __device__ void load(const Dims& s, int64_t bi, int64_t row_base, int64_t q0, const float* lse_g,
                       const float* delta_g) {
    if (threadIdx.x >= kTile) return;
    const int64_t i = q0 + threadIdx.x;
    doc[threadIdx.x] = s.q_doc(bi, i);
    lse[threadIdx.x] = i < s.tq ? lse_g[row_base + i] : 0.0f;
    delta[threadIdx.x] = i < s.tq ? delta_g[row_base + i] : 0.0f;
  }
  // A visible score of a row that attended to something (lse -inf: no probability, no gradient).
  __device__ bool counts(const Dims& s, int64_t i, int64_t j, int64_t length, int ii,
                         int32_t doc_j) const {
    return s.visible(i, j, length, doc[ii], doc_j) && lse[ii] != -INFINITY;
  }
};

// Block (query tile, head, batch); heavy causal tiles (the last ones) are scheduled first.
template <int kMaxD, typename T>
__global__ void __launch_bounds__(kThreads, kMaxD <= 64 ? 2 : 1)
    attention_forward_kernel(const T* q, const T* k, const T* v, const T* bias, T* out, float* lse,
                             Dims s) {
  constexpr int kCols = kMaxD / kSide;
  extern __shared__ float smem[];
  float* qs = smem;
  float* kv = qs + kTile * kLd<kMaxD>;  // the key tile, then the value tile
  float* ps = kv + kTile * kLd<kMaxD>;  // probabilities times the dropout mask
  __shared__ int32_t qdoc[kTile], kdoc[kTile];
  const int tx = threadIdx.x % kSide, ty = threadIdx.x / kSide;
  const int64_t q0 = static_cast<int64_t>(gridDim.x - 1 - blockIdx.x) * kTile;
  const int64_t h = blockIdx.y, bi = blockIdx.z, kvh = h / (s.hq / s.hkv);
  const int64_t row_base = (bi * s.hq + h) * s.tq, mask_base = s.mask_row(bi, h);
  const int64_t q_off = (bi * s.tq * s.hq + h) * s.d, kv_off = (bi * s.tk * s.hkv + kvh) * s.d;
  const T* bias_rows = s.bias_rows(bias, bi, h);
  load_tile<kMaxD>(qs, q + q_off, q0, s.tq, s.hq * s.d, s.d);
  if (threadIdx.x < kTile) qdoc[threadIdx.x] = s.q_doc(bi, q0 + threadIdx.x);
  float m[kPer], l[kPer], acc[kPer][kCols] = {};
#pragma unroll
  for (int r = 0; r < kPer; ++r) {
    m[r] = -INFINITY;
    l[r] = 0.0f;  // this thread's share of the row's sum of exponentials
  }
  const int64_t length = s.kv_length(bi), kend = s.key_end(length, q0);
  for (int64_t k0 = 0; k0 < kend; k0 += kTile) {
    __syncthreads();  // the previous tile's values are read
    load_tile<kMaxD>(kv, k + kv_off, k0, s.tk, s.hkv * s.d, s.d);
    if (threadIdx.x < kTile) kdoc[threadIdx.x] = s.kv_doc(bi, k0 + threadIdx.x);
    __syncthreads();
    float sc[kPer][kPer] = {};
    tile_dot<kMaxD>(qs, kv, s.d, sc);
#pragma unroll
    for (int r = 0; r < kPer; ++r) {
      const int ii = ty + r * kSide;
      float mx = -INFINITY;
#pragma unroll
      for (int c = 0; c < kPer; ++c) {
        const int jj = tx + c * kSide;
        const bool seen = s.visible(q0 + ii, k0 + jj, length, qdoc[ii], kdoc[jj]);
        sc[r][c] = seen ? sc[r][c] * s.scale + s.bias_at(bias_rows, q0 + ii, k0 + jj) : -INFINITY;
        mx = fmaxf(mx, sc[r][c]);
      }
      const float m_new = fmaxf(m[r], row_max(mx));
      const float m_use = m_new == -INFINITY ? 0.0f : m_new;  // a row with nothing seen yet
      const float alpha = expf(m[r] - m_use);
      m[r] = m_new;
      l[r] *= alpha;
#pragma unroll
      for (int c = 0; c < kCols; ++c) acc[r][c] *= alpha;
#pragma unroll
      for (int c = 0; c < kPer; ++c) {
        const int jj = tx + c * kSide;
        const float p = expf(sc[r][c] - m_use);
        l[r] += p;
        const int64_t index = (mask_base + q0 + ii) * s.tk + k0 + jj;
        ps[ii * kScoreLd + jj] = p == 0.0f ? 0.0f : p * s.mask(index);
      }
    }
    __syncthreads();  // the key tile is read
    load_tile<kMaxD>(kv, v + kv_off, k0, s.tk, s.hkv * s.d, s.d);
    __syncthreads();
    tile_accumulate<kMaxD>(ps, kv, acc);
  }
#pragma unroll
  for (int r = 0; r < kPer; ++r) {
    const float sum = row_sum(l[r]);  // 0: the row saw no key (out 0, lse -inf)
#pragma unroll
    for (int c = 0; c < kCols; ++c) acc[r][c] = sum > 0.0f ? acc[r][c] / sum : 0.0f;
    const int64_t i = q0 + ty + r * kSide;
    if (tx == 0 && i < s.tq) lse[row_base + i] = sum > 0.0f ? m[r] + logf(sum) : -INFINITY;
  }
  store_rows<kMaxD>(out + q_off, q0, s.tq, s.hq * s.d, s.d, acc);
}

// delta[r] = dout_r . out_r (= sum_j p_j dP_j), a warp per row r = (b * Hq + h) * Tq + i.
template <typename T>
__global__ void attention_delta_kernel(const T* out, const T* dout, float* delta, Dims s) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * (kThreads / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (r >= s.b * s.hq * s.tq) return;
  const int64_t i = r % s.tq, h = (r / s.tq) % s.hq, bi = r / (s.tq * s.hq);
  const int64_t at = ((bi * s.tq + i) * s.hq + h) * s.d;
  float acc = 0.0f;
  for (int x = lane; x < s.d; x += 32) acc = fmaf(load(out[at + x]), load(dout[at + x]), acc);
  acc = lane_sum(acc);
  if (lane == 0) delta[r] = acc;
}

// dq for block (query tile, head, batch): dS = P * (z * dO V^T - delta), dq = scale dS K; with
// `dscores` (B, Hq, Tq, Tk) f32 it also writes dS there (the score gradients dbias sums).
template <int kMaxD, typename T>
__global__ void __launch_bounds__(kThreads)
    attention_dq_kernel(const T* q, const T* k, const T* v, const T* bias, const float* lse,
                        const T* dout, const float* delta, T* dq, float* dscores, Dims s) {
  extern __shared__ float smem[];
  float* qs = smem;
  float* dos = qs + kTile * kLd<kMaxD>;
  float* ks = dos + kTile * kLd<kMaxD>;
  float* vs = ks + kTile * kLd<kMaxD>;
  float* dss = vs + kTile * kLd<kMaxD>;
  __shared__ RowCache rows;
  __shared__ int32_t kdoc[kTile];
  const int tx = threadIdx.x % kSide, ty = threadIdx.x / kSide;
  const int64_t q0 = static_cast<int64_t>(gridDim.x - 1 - blockIdx.x) * kTile;
  const int64_t h = blockIdx.y, bi = blockIdx.z, kvh = h / (s.hq / s.hkv);
  const int64_t row_base = (bi * s.hq + h) * s.tq, mask_base = s.mask_row(bi, h);
  const int64_t q_off = (bi * s.tq * s.hq + h) * s.d, kv_off = (bi * s.tk * s.hkv + kvh) * s.d;
  const T* bias_rows = s.bias_rows(bias, bi, h);
  load_tile<kMaxD>(qs, q + q_off, q0, s.tq, s.hq * s.d, s.d);
  load_tile<kMaxD>(dos, dout + q_off, q0, s.tq, s.hq * s.d, s.d);
  rows.load(s, bi, row_base, q0, lse, delta);
  float acc[kPer][kMaxD / kSide] = {};
  const int64_t length = s.kv_length(bi), kend = s.key_end(length, q0);
  for (int64_t k0 = 0; k0 < kend; k0 += kTile) {
    __syncthreads();  // the previous key tile and dS are read
    load_tile<kMaxD>(ks, k + kv_off, k0, s.tk, s.hkv * s.d, s.d);
    load_tile<kMaxD>(vs, v + kv_off, k0, s.tk, s.hkv * s.d, s.d);
    if (threadIdx.x < kTile) kdoc[threadIdx.x] = s.kv_doc(bi, k0 + threadIdx.x);
    __syncthreads();
    float sc[kPer][kPer] = {}, dp[kPer][kPer] = {};
    tile_dot<kMaxD>(qs, ks, s.d, sc);
    tile_dot<kMaxD>(dos, vs, s.d, dp);
#pragma unroll
    for (int r = 0; r < kPer; ++r) {
      const int ii = ty + r * kSide;
      const int64_t i = q0 + ii;
#pragma unroll
      for (int c = 0; c < kPer; ++c) {
        const int jj = tx + c * kSide;
        const int64_t j = k0 + jj;
        float ds = 0.0f;
        if (rows.counts(s, i, j, length, ii, kdoc[jj])) {
          // fmaf: without a bias, scale s - lse keeps the one rounding it had before biases.
          const float p = expf(fmaf(s.scale, sc[r][c], s.bias_at(bias_rows, i, j) - rows.lse[ii]));
          const float z = s.mask((mask_base + i) * s.tk + j);
          const float dprob = z * dp[r][c] - rows.delta[ii];
          ds = s.scale * p * dprob;
          if (dscores != nullptr) dscores[(row_base + i) * s.tk + j] = p * dprob;  // d score_ij
        }
        dss[ii * kScoreLd + jj] = ds;
      }
    }
    __syncthreads();
    tile_accumulate<kMaxD>(dss, ks, acc);
  }
  store_rows<kMaxD>(dq + q_off, q0, s.tq, s.hq * s.d, s.d, acc);
}

// dk, dv for block (key tile, kv head, batch) over the query heads of its group, then the query
// tiles that can see it, in order: dv = (P z)^T dO, dk = scale dS^T Q. Thread rows are keys here,
// columns queries. Key tiles wholly in the padding keep zero gradients.
template <int kMaxD, typename T>
__global__ void __launch_bounds__(kThreads, kMaxD <= 64 ? 2 : 1)
    attention_dkdv_kernel(const T* q, const T* k, const T* v, const T* bias, const float* lse,
                          const T* dout, const float* delta, T* dk, T* dv, Dims s) {
  extern __shared__ float smem[];
  float* ks = smem;
  float* vs = ks + kTile * kLd<kMaxD>;
  float* qs = vs + kTile * kLd<kMaxD>;
  float* dos = qs + kTile * kLd<kMaxD>;
  float* pzs = dos + kTile * kLd<kMaxD>;  // (key, query): probability times the dropout mask
  float* dss = pzs + kTile * kScoreLd;
  __shared__ RowCache rows;
  __shared__ int32_t kdoc[kTile];
  const int tx = threadIdx.x % kSide, ty = threadIdx.x / kSide;
  const int64_t k0 = static_cast<int64_t>(blockIdx.x) * kTile;  // causal: first tiles are heavy
  const int64_t kvh = blockIdx.y, bi = blockIdx.z, group = s.hq / s.hkv;
  const int64_t kv_off = (bi * s.tk * s.hkv + kvh) * s.d;
  load_tile<kMaxD>(ks, k + kv_off, k0, s.tk, s.hkv * s.d, s.d);
  load_tile<kMaxD>(vs, v + kv_off, k0, s.tk, s.hkv * s.d, s.d);
  if (threadIdx.x < kTile) kdoc[threadIdx.x] = s.kv_doc(bi, k0 + threadIdx.x);
  float dk_acc[kPer][kMaxD / kSide] = {}, dv_acc[kPer][kMaxD / kSide] = {};
  const int64_t length = s.kv_length(bi);
  const int64_t q_begin = k0 < length ? s.query_tile_begin(k0) : s.tq;
  for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h) {
    const int64_t row_base = (bi * s.hq + h) * s.tq, mask_base = s.mask_row(bi, h);
    const int64_t q_off = (bi * s.tq * s.hq + h) * s.d;
    const T* bias_rows = s.bias_rows(bias, bi, h);
    for (int64_t q0 = q_begin; q0 < s.tq; q0 += kTile) {
      __syncthreads();  // the previous query tile and scores are read
      load_tile<kMaxD>(qs, q + q_off, q0, s.tq, s.hq * s.d, s.d);
      load_tile<kMaxD>(dos, dout + q_off, q0, s.tq, s.hq * s.d, s.d);
      rows.load(s, bi, row_base, q0, lse, delta);
      __syncthreads();
      float sc[kPer][kPer] = {}, dp[kPer][kPer] = {};
      tile_dot<kMaxD>(ks, qs, s.d, sc);
      tile_dot<kMaxD>(vs, dos, s.d, dp);
#pragma unroll
      for (int r = 0; r < kPer; ++r) {
        const int jj = ty + r * kSide;
        const int64_t j = k0 + jj;
#pragma unroll
        for (int c = 0; c < kPer; ++c) {
          const int ii = tx + c * kSide;
          const int64_t i = q0 + ii;
          float pz = 0.0f, ds = 0.0f;
          if (rows.counts(s, i, j, length, ii, kdoc[jj])) {
            const float p =
                expf(fmaf(s.scale, sc[r][c], s.bias_at(bias_rows, i, j) - rows.lse[ii]));
            const float z = s.mask((mask_base + i) * s.tk + j);
            pz = p * z;
            ds = s.scale * p * (z * dp[r][c] - rows.delta[ii]);
          }
          pzs[jj * kScoreLd + ii] = pz;
          dss[jj * kScoreLd + ii] = ds;
        }
      }
      __syncthreads();
      tile_accumulate<kMaxD>(pzs, dos, dv_acc);
      tile_accumulate<kMaxD>(dss, qs, dk_acc);
    }
  }
  store_rows<kMaxD>(dk + kv_off, k0, s.tk, s.hkv * s.d, s.d, dk_acc);
  store_rows<kMaxD>(dv + kv_off, k0, s.tk, s.hkv * s.d, s.d, dv_acc);
}

// dbias (Bb, Hq, Tq, Tk) from the per-sample score gradients (B, Hq, Tq, Tk): each element sums
// its B / Bb samples in order (a cast when Bb = B).
template <typename T>
__global__ void attention_dbias_kernel(const float* dscores, T* dbias, int64_t per_sample,
                                       int64_t bias_batch, int64_t samples_per_bias) {
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
       e < bias_batch * per_sample; e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t first = e / per_sample * samples_per_bias, x = e % per_sample;
    float acc = 0.0f;
    for (int64_t n = 0; n < samples_per_bias; ++n) acc += dscores[(first + n) * per_sample + x];
    dbias[e] = store_as<T>(acc);
  }
}

Dims dims_of(const Tensor& q, const Tensor& k, const AttentionParams& params) {
  if (q.dim(3) > kMaxHeadDim) {
    throw Error(fmt::format("attention: head dim {} exceeds the CUDA kernel's limit {}", q.dim(3),
                            kMaxHeadDim));
  }
  const int64_t b = q.dim(0), tq = q.dim(1), tk = k.dim(1), hq = q.dim(2);
  const auto ids = [](const Tensor& t) { return t.defined() ? t.data<int32_t>() : nullptr; };
  const int32_t* q_docs = ids(params.document_ids);
  const bool bias_per_sample = params.bias.defined() && params.bias.dim(0) != 1;
  return {b,
          tq,
          tk,
          hq,
          k.dim(2),
          static_cast<int>(q.dim(3)),
          static_cast<float>(params.scale),
          attention_diagonal_shift(params, tq, tk),
          static_cast<float>(params.dropout_p),
          static_cast<float>(1.0 / (1.0 - params.dropout_p)),
          params.seed,
          params.stream,
          params.total_heads == 0 ? hq : params.total_heads,
          params.head_offset,
          ids(params.kv_lengths),
          q_docs,
          params.kv_document_ids.defined() ? ids(params.kv_document_ids) : q_docs,
          bias_per_sample ? hq * tq * tk : 0};
}

// Dynamic shared memory of a kernel with `tiles` (kTile, kMaxD) tiles and `scores` score tiles
// (above the default 48 KiB, hence the attribute set at launch).
template <int kMaxD>
constexpr size_t smem_bytes(int tiles, int scores) {
  return sizeof(float) * (tiles * kTile * kLd<kMaxD> + scores * kTile * kScoreLd);
}

template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), dim3 grid, size_t smem, cudaStream_t stream, Args... args) {
  ME_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                     static_cast<int>(smem)));
  kernel<<<grid, kThreads, smem, stream>>>(args...);
  ME_CUDA_CHECK(cudaGetLastError());
}

// Calls fn with the kernel's head-dim capacity (64 or 128) as an integral constant.
template <typename Fn>
void with_max_head_dim(int d, Fn fn) {
  if (d <= 64) {
    fn(std::integral_constant<int, 64>{});
  } else {
    fn(std::integral_constant<int, kMaxHeadDim>{});
  }
}

template <typename T>
const T* bias_of(const AttentionParams& params) {
  return params.bias.defined() ? data_as<T>(params.bias) : nullptr;
}

void zero(const Tensor& t, cudaStream_t stream) {
  ME_CUDA_CHECK(cudaMemsetAsync(t.raw_data(), 0, t.nbytes(), stream));
}

}  // namespace

void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out, Tensor& lse,
                       const AttentionParams& params) {
  if (cudnn_attention_applies(q, k, params)) {
    cudnn_attention_forward(q, k, v, out, lse, params);
    return;
  }
  attention_forward_tiled(q, k, v, out, lse, params);
}

void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                        const Tensor& lse, const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv,
                        const AttentionParams& params, Tensor* dbias) {
  if (cudnn_attention_applies(q, k, params, dbias != nullptr)) {
    cudnn_attention_backward(q, k, v, out, lse, dout, dq, dk, dv, params, dbias);
    return;
  }
  attention_backward_tiled(q, k, v, out, lse, dout, dq, dk, dv, params, dbias);
}

void attention_forward_tiled(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out,
                             Tensor& lse, const AttentionParams& params) {
  const Dims s = dims_of(q, k, params);
  if (s.b * s.hq * s.tq == 0) return;
  const Context& ctx = context(q.device());
  const dim3 grid(ceil_div(s.tq, kTile), static_cast<unsigned>(s.hq), static_cast<unsigned>(s.b));
  with_storage(q.dtype(), "attention_forward", [&](auto tag) {
    using T = decltype(tag);
    with_max_head_dim(s.d, [&](auto max_d) {
      constexpr int kMaxD = decltype(max_d)::value;
      launch(attention_forward_kernel<kMaxD, T>, grid, smem_bytes<kMaxD>(2, 1), ctx.stream,
             data_as<T>(q), data_as<T>(k), data_as<T>(v), bias_of<T>(params), data_as<T>(out),
             fptr(lse), s);
    });
  });
}

void attention_backward_tiled(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                              const Tensor& lse, const Tensor& dout, Tensor& dq, Tensor& dk,
                              Tensor& dv, const AttentionParams& params, Tensor* dbias) {
  const Dims s = dims_of(q, k, params);
  const Context& ctx = context(q.device());
  const int64_t rows = s.b * s.hq * s.tq;
  if (rows == 0 || s.tk == 0) {  // no score: every gradient is zero
    for (Tensor* t : {&dq, &dk, &dv, dbias}) {
      if (t != nullptr) zero(*t, ctx.stream);
    }
    return;
  }
  Tensor delta = Tensor::empty({rows}, DType::kF32, q.device());
  // The score gradients (B, Hq, Tq, Tk), zero where no score counts, before dbias sums them.
  Tensor dscores;
  if (dbias != nullptr) {
    dscores = Tensor::empty({s.b, s.hq, s.tq, s.tk}, DType::kF32, q.device());
    zero(dscores, ctx.stream);
  }
  const unsigned b = static_cast<unsigned>(s.b);
  with_storage(q.dtype(), "attention_backward", [&](auto tag) {
    using T = decltype(tag);
    attention_delta_kernel<T><<<ceil_div(rows, kThreads / 32), kThreads, 0, ctx.stream>>>(
        data_as<T>(out), data_as<T>(dout), fptr(delta), s);
    ME_CUDA_CHECK(cudaGetLastError());
    const T* bias = bias_of<T>(params);
    with_max_head_dim(s.d, [&](auto max_d) {
      constexpr int kMaxD = decltype(max_d)::value;
      launch(attention_dkdv_kernel<kMaxD, T>,
             dim3(ceil_div(s.tk, kTile), static_cast<unsigned>(s.hkv), b), smem_bytes<kMaxD>(4, 2),
             ctx.stream, data_as<T>(q), data_as<T>(k), data_as<T>(v), bias, fptr(lse),
             data_as<T>(dout), fptr(delta), data_as<T>(dk), data_as<T>(dv), s);
      launch(attention_dq_kernel<kMaxD, T>,
             dim3(ceil_div(s.tq, kTile), static_cast<unsigned>(s.hq), b), smem_bytes<kMaxD>(4, 1),
             ctx.stream, data_as<T>(q), data_as<T>(k), data_as<T>(v), bias, fptr(lse),
             data_as<T>(dout), fptr(delta), data_as<T>(dq),
             dscores.defined() ? fptr(dscores) : nullptr, s);
    });
    if (dbias != nullptr) {
      const int64_t per_sample = s.hq * s.tq * s.tk, bias_batch = dbias->dim(0);
      attention_dbias_kernel<T><<<grid_for(bias_batch * per_sample), kThreads, 0, ctx.stream>>>(
          fptr(dscores), data_as<T>(*dbias), per_sample, bias_batch, s.b / bias_batch);
      ME_CUDA_CHECK(cudaGetLastError());
    }
  });
}

}  // namespace me::cuda
