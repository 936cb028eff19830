// Host attention, one query row (b, h, i) at a time as flash attention defines it: scores
// s_j = scale q_i.k_j (j <= i when causal), lse_i = log sum_j exp(s_j), p_j = exp(s_j - lse_i),
// out_i = sum_j p_j z_j v_j with z_j the dropout keep mask scaled by 1/(1-p). With document ids,
// keys of other documents are skipped as if their scores were -inf.
#include "kernels/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/cpu/dropout.h"
#include "kernels/cpu/float_dispatch.h"
#include "kernels/cpu/parallel.h"

namespace me::cpu {
namespace {

struct Dims {
  int64_t b, t, hq, hkv, d;
  int64_t group() const { return hq / hkv; }
  // Element offsets into (B, T, H, D) tensors.
  int64_t q_at(int64_t bi, int64_t ti, int64_t h) const { return ((bi * t + ti) * hq + h) * d; }
  int64_t kv_at(int64_t bi, int64_t ti, int64_t h) const { return ((bi * t + ti) * hkv + h) * d; }
};

Dims dims_of(const Tensor& q, const Tensor& k) {
  return {q.dim(0), q.dim(1), q.dim(2), k.dim(2), q.dim(3)};
}

template <typename T>
T dot(const T* a, const T* b, int64_t n) {
  T acc = 0;
  for (int64_t x = 0; x < n; ++x) acc += a[x] * b[x];
  return acc;
}

// z for element (b, h, i, j): 1 without dropout, else keep / (1 - p) from the Philox mask, drawn
// at the global head params.head_offset + h of params.total_heads.
template <typename T>
struct DropoutMask {
  const AttentionParams& params;
  const Dims& s;
  float p = static_cast<float>(params.dropout_p);
  T keep_scale = static_cast<T>(1.0 / (1.0 - params.dropout_p));
  int64_t heads = params.total_heads == 0 ? s.hq : params.total_heads;
  T operator()(int64_t bi, int64_t h, int64_t i, int64_t j) const {
    if (params.dropout_p == 0.0) return T(1);
    const int64_t index = ((bi * heads + params.head_offset + h) * s.t + i) * s.t + j;
    return dropout_keep(params.seed, params.stream, static_cast<uint64_t>(index), p) ? keep_scale
                                                                                     : T(0);
  }
};

// Whether query i of sequence b may see key j < len: same document, or no documents given.
struct DocumentMask {
  const int32_t* ids;  // (B, T) or null
  int64_t t;
  bool operator()(int64_t bi, int64_t i, int64_t j) const {
    return ids == nullptr || ids[bi * t + i] == ids[bi * t + j];
  }
};

DocumentMask document_mask(const AttentionParams& params, int64_t t) {
  return {params.document_ids.defined() ? params.document_ids.data<int32_t>() : nullptr, t};
}

}  // namespace

void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out, Tensor& lse,
                       const AttentionParams& params) {
  const Dims s = dims_of(q, k);
  const int64_t rows = s.b * s.hq * s.t;
  dispatch_float(q.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pq = q.data<T>();  // (B, T, Hq, D)
    const T* pk = k.data<T>();  // (B, T, Hkv, D)
    const T* pv = v.data<T>();  // (B, T, Hkv, D)
    T* po = out.data<T>();      // (B, T, Hq, D)
    T* plse = lse.data<T>();    // (B, Hq, T)
    const T scale = static_cast<T>(params.scale);
    const DropoutMask<T> mask{params, s};
    const DocumentMask same_doc = document_mask(params, s.t);
#pragma omp parallel if (worth_threads(rows * s.t * s.d))
    {
      std::vector<T> score(s.t);
#pragma omp for
      for (int64_t r = 0; r < rows; ++r) {  // r = (b * Hq + h) * T + i
        const int64_t i = r % s.t, h = (r / s.t) % s.hq, bi = r / (s.t * s.hq);
        const int64_t kvh = h / s.group();
        const T* qi = pq + s.q_at(bi, i, h);
        const int64_t len = params.causal ? i + 1 : s.t;
        T m = -INFINITY;
        for (int64_t j = 0; j < len; ++j) {
          score[j] = same_doc(bi, i, j) ? scale * dot(qi, pk + s.kv_at(bi, j, kvh), s.d)
                                        : static_cast<T>(-INFINITY);
          m = std::max(m, score[j]);
        }
        T sum = 0;
        for (int64_t j = 0; j < len; ++j) sum += std::exp(score[j] - m);
        const T row_lse = m + std::log(sum);
        T* oi = po + s.q_at(bi, i, h);
        std::fill_n(oi, s.d, T(0));
        for (int64_t j = 0; j < len; ++j) {
          if (!same_doc(bi, i, j)) continue;
          const T w = std::exp(score[j] - row_lse) * mask(bi, h, i, j);
          const T* vj = pv + s.kv_at(bi, j, kvh);
          for (int64_t x = 0; x < s.d; ++x) oi[x] += w * vj[x];
        }
        plse[r] = row_lse;
      }
    }
  });
}

// One task per (b, kv head): it owns dk and dv of that head and dq of the query heads reading it,
// and visits (h, i, j) in order, so every sum has a fixed order and needs no atomics.
void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                        const Tensor& lse, const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv,
                        const AttentionParams& params) {
  const Dims s = dims_of(q, k);
  const int64_t tasks = s.b * s.hkv;
  dispatch_float(q.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pq = q.data<T>();
    const T* pk = k.data<T>();
    const T* pv = v.data<T>();
    const T* po = out.data<T>();
    const T* plse = lse.data<T>();
    const T* pdo = dout.data<T>();
    T* pdq = dq.data<T>();
    T* pdk = dk.data<T>();
    T* pdv = dv.data<T>();
    const T scale = static_cast<T>(params.scale);
    const DropoutMask<T> mask{params, s};
    const DocumentMask same_doc = document_mask(params, s.t);
#pragma omp parallel for if (worth_threads(q.numel() * s.t))
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t bi = task / s.hkv, kvh = task % s.hkv;
      for (int64_t j = 0; j < s.t; ++j) {
        std::fill_n(pdk + s.kv_at(bi, j, kvh), s.d, T(0));
        std::fill_n(pdv + s.kv_at(bi, j, kvh), s.d, T(0));
      }
      for (int64_t h = kvh * s.group(); h < (kvh + 1) * s.group(); ++h) {
        for (int64_t i = 0; i < s.t; ++i) {
          const int64_t r = (bi * s.hq + h) * s.t + i;
          const T* qi = pq + s.q_at(bi, i, h);
          const T* doi = pdo + s.q_at(bi, i, h);
          T* dqi = pdq + s.q_at(bi, i, h);
          std::fill_n(dqi, s.d, T(0));
          // sum_j p_j dP_j = dout_i . out_i, since out_i = sum_j p_j z_j v_j.
          const T di = dot(doi, po + s.q_at(bi, i, h), s.d);
          const int64_t len = params.causal ? i + 1 : s.t;
          for (int64_t j = 0; j < len; ++j) {
            if (!same_doc(bi, i, j)) continue;
            const T* kj = pk + s.kv_at(bi, j, kvh);
            const T* vj = pv + s.kv_at(bi, j, kvh);
            const T p = std::exp(scale * dot(qi, kj, s.d) - plse[r]);
            const T z = mask(bi, h, i, j);
            const T dscore = scale * p * (z * dot(doi, vj, s.d) - di);  // d loss / d (q_i.k_j)
            T* dkj = pdk + s.kv_at(bi, j, kvh);
            T* dvj = pdv + s.kv_at(bi, j, kvh);
            for (int64_t x = 0; x < s.d; ++x) {
              dqi[x] += dscore * kj[x];
              dkj[x] += dscore * qi[x];
              dvj[x] += p * z * doi[x];
            }
          }
        }
      }
    }
  });
}

void split_qkv_forward(const Tensor& qkv, Tensor& q, Tensor& k, Tensor& v) {
  const int64_t tokens = q.dim(0) * q.dim(1), hq = q.dim(2), g = k.dim(2);
  const size_t es = dtype_size(q.dtype());
  const size_t head = static_cast<size_t>(q.dim(3)) * es;  // bytes per head
  const size_t q_group = static_cast<size_t>(hq / g) * head;
  const char* src = static_cast<const char*>(qkv.raw_data());
  char* pq = static_cast<char*>(q.raw_data());
  char* pk = static_cast<char*>(k.raw_data());
  char* pv = static_cast<char*>(v.raw_data());
#pragma omp parallel for if (worth_threads(q.numel()))
  for (int64_t tok = 0; tok < tokens; ++tok) {
    for (int64_t gi = 0; gi < g; ++gi) {
      const char* grp = src + (tok * g + gi) * (q_group + 2 * head);  // [q heads | k | v]
      std::memcpy(pq + (tok * g + gi) * q_group, grp, q_group);
      std::memcpy(pk + (tok * g + gi) * head, grp + q_group, head);
      std::memcpy(pv + (tok * g + gi) * head, grp + q_group + head, head);
    }
  }
}

void split_qkv_backward(const Tensor& dq, const Tensor& dk, const Tensor& dv, Tensor& dqkv) {
  const int64_t tokens = dq.dim(0) * dq.dim(1), hq = dq.dim(2), g = dk.dim(2);
  const size_t es = dtype_size(dq.dtype());
  const size_t head = static_cast<size_t>(dq.dim(3)) * es;
  const size_t q_group = static_cast<size_t>(hq / g) * head;
  char* dst = static_cast<char*>(dqkv.raw_data());
  const char* pq = static_cast<const char*>(dq.raw_data());
  const char* pk = static_cast<const char*>(dk.raw_data());
  const char* pv = static_cast<const char*>(dv.raw_data());
#pragma omp parallel for if (worth_threads(dq.numel()))
  for (int64_t tok = 0; tok < tokens; ++tok) {
    for (int64_t gi = 0; gi < g; ++gi) {
      char* grp = dst + (tok * g + gi) * (q_group + 2 * head);
      std::memcpy(grp, pq + (tok * g + gi) * q_group, q_group);
      std::memcpy(grp + q_group, pk + (tok * g + gi) * head, head);
      std::memcpy(grp + q_group + head, pv + (tok * g + gi) * head, head);
    }
  }
}

}  // namespace me::cpu
