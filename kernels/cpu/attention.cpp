// Host attention, one query row (b, h, i) at a time as flash attention defines it: scores
// s_j = scale q_i.k_j + bias_ij over the keys j the row sees (KeyVisibility), lse_i = log sum_j
// exp(s_j), p_j = exp(s_j - lse_i), out_i = sum_j p_j z_j v_j with z_j the dropout keep mask scaled
// by 1/(1-p). A row that sees no key (or only scores of -inf) has out 0, lse -inf, no gradient.
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
  int64_t b, tq, tk, hq, hkv, d;
  int64_t group() const { return hq / hkv; }
  // Element offsets into (B, Tq, Hq, D) and (B, Tk, Hkv, D) tensors.
  int64_t q_at(int64_t bi, int64_t i, int64_t h) const { return ((bi * tq + i) * hq + h) * d; }
  int64_t kv_at(int64_t bi, int64_t j, int64_t h) const { return ((bi * tk + j) * hkv + h) * d; }
  // Offset of score (b, h, i, j) in a (B, Hq, Tq, Tk) tensor.
  int64_t score_at(int64_t bi, int64_t h, int64_t i, int64_t j) const {
    return ((bi * hq + h) * tq + i) * tk + j;
  }
};

Dims dims_of(const Tensor& q, const Tensor& k) {
  return {q.dim(0), q.dim(1), k.dim(1), q.dim(2), k.dim(2), q.dim(3)};
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
    const int64_t index = ((bi * heads + params.head_offset + h) * s.tq + i) * s.tk + j;
    return dropout_keep(params.seed, params.stream, static_cast<uint64_t>(index), p) ? keep_scale
                                                                                     : T(0);
  }
};

// Whether query i of sequence b sees key j: within the causal shift, before the sample's padding
// and in the same document (each where given).
struct KeyVisibility {
  const Dims& s;
  int64_t shift;
  const int32_t* lengths;  // (B) or null
  const int32_t* q_docs;   // (B, Tq) or null
  const int32_t* kv_docs;  // (B, Tk); q_docs when the keys share the queries' ids
  KeyVisibility(const AttentionParams& params, const Dims& dims)
      : s(dims),
        shift(attention_diagonal_shift(params, dims.tq, dims.tk)),
        lengths(params.kv_lengths.defined() ? params.kv_lengths.data<int32_t>() : nullptr),
        q_docs(params.document_ids.defined() ? params.document_ids.data<int32_t>() : nullptr),
        kv_docs(params.kv_document_ids.defined() ? params.kv_document_ids.data<int32_t>()
                                                 : q_docs) {}
  bool operator()(int64_t bi, int64_t i, int64_t j) const {
    const int64_t length = lengths == nullptr ? s.tk : lengths[bi];
    return j < length && j <= i + shift &&
           (q_docs == nullptr || q_docs[bi * s.tq + i] == kv_docs[bi * s.tk + j]);
  }
};

// bias[b or 0, h, i, j], 0 without a bias.
template <typename T>
struct ScoreBias {
  const T* bias;   // (Bb, Hq, Tq, Tk) or null
  bool broadcast;  // Bb = 1
  const Dims& s;
  ScoreBias(const AttentionParams& params, const Dims& dims)
      : bias(params.bias.defined() ? params.bias.data<T>() : nullptr),
        broadcast(params.bias.defined() && params.bias.dim(0) == 1),
        s(dims) {}
  T operator()(int64_t bi, int64_t h, int64_t i, int64_t j) const {
    return bias == nullptr ? T(0) : bias[s.score_at(broadcast ? 0 : bi, h, i, j)];
  }
};

}  // namespace

void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out, Tensor& lse,
                       const AttentionParams& params) {
  const Dims s = dims_of(q, k);
  const int64_t rows = s.b * s.hq * s.tq;
  dispatch_float(q.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pq = q.data<T>();  // (B, Tq, Hq, D)
    const T* pk = k.data<T>();  // (B, Tk, Hkv, D)
    const T* pv = v.data<T>();  // (B, Tk, Hkv, D)
    T* po = out.data<T>();      // (B, Tq, Hq, D)
    T* plse = lse.data<T>();    // (B, Hq, Tq)
    const T scale = static_cast<T>(params.scale);
    const DropoutMask<T> mask{params, s};
    const KeyVisibility visible(params, s);
    const ScoreBias<T> bias(params, s);
#pragma omp parallel if (worth_threads(rows * s.tk * s.d))
    {
      std::vector<T> score(s.tk);
#pragma omp for
      for (int64_t r = 0; r < rows; ++r) {  // r = (b * Hq + h) * Tq + i
        const int64_t i = r % s.tq, h = (r / s.tq) % s.hq, bi = r / (s.tq * s.hq);
        const int64_t kvh = h / s.group();
        const T* qi = pq + s.q_at(bi, i, h);
        T m = -INFINITY;
        for (int64_t j = 0; j < s.tk; ++j) {
          score[j] = visible(bi, i, j)
                         ? scale * dot(qi, pk + s.kv_at(bi, j, kvh), s.d) + bias(bi, h, i, j)
                         : static_cast<T>(-INFINITY);
          m = std::max(m, score[j]);
        }
        T* oi = po + s.q_at(bi, i, h);
        std::fill_n(oi, s.d, T(0));
        if (m == -INFINITY) {  // nothing to attend to
          plse[r] = -INFINITY;
          continue;
        }
        T sum = 0;
        for (int64_t j = 0; j < s.tk; ++j) sum += std::exp(score[j] - m);
        const T row_lse = m + std::log(sum);
        for (int64_t j = 0; j < s.tk; ++j) {
          if (score[j] == -INFINITY) continue;
          const T w = std::exp(score[j] - row_lse) * mask(bi, h, i, j);
          const T* vj = pv + s.kv_at(bi, j, kvh);
          for (int64_t x = 0; x < s.d; ++x) oi[x] += w * vj[x];
        }
        plse[r] = row_lse;
      }
    }
  });
}

// One task per (b, kv head): it owns dk and dv of that head, dq of the query heads reading it and
// their score gradients, and visits (h, i, j) in order, so every sum has a fixed order and needs
// no atomics. A bias broadcast over a batch of several samples gets its per-sample score
// gradients in a scratch tensor first, summed over the batch in order afterwards.
void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                        const Tensor& lse, const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv,
                        const AttentionParams& params, Tensor* dbias) {
  const Dims s = dims_of(q, k);
  const int64_t tasks = s.b * s.hkv;
  const bool batch_sum = dbias != nullptr && dbias->dim(0) != s.b;
  Tensor dscores = !dbias      ? Tensor()
                   : batch_sum ? Tensor::zeros({s.b, s.hq, s.tq, s.tk}, q.dtype())
                               : *dbias;  // (B, Hq, Tq, Tk): d loss / d score
  if (dbias != nullptr && !batch_sum) std::memset(dscores.raw_data(), 0, dscores.nbytes());
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
    T* pds = dscores.defined() ? dscores.data<T>() : nullptr;
    const T scale = static_cast<T>(params.scale);
    const DropoutMask<T> mask{params, s};
    const KeyVisibility visible(params, s);
    const ScoreBias<T> bias(params, s);
#pragma omp parallel for if (worth_threads(q.numel() * s.tk))
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t bi = task / s.hkv, kvh = task % s.hkv;
      for (int64_t j = 0; j < s.tk; ++j) {
        std::fill_n(pdk + s.kv_at(bi, j, kvh), s.d, T(0));
        std::fill_n(pdv + s.kv_at(bi, j, kvh), s.d, T(0));
      }
      for (int64_t h = kvh * s.group(); h < (kvh + 1) * s.group(); ++h) {
        for (int64_t i = 0; i < s.tq; ++i) {
          const int64_t r = (bi * s.hq + h) * s.tq + i;
          const T* qi = pq + s.q_at(bi, i, h);
          const T* doi = pdo + s.q_at(bi, i, h);
          T* dqi = pdq + s.q_at(bi, i, h);
          std::fill_n(dqi, s.d, T(0));
          if (plse[r] == -INFINITY) continue;  // a row that attended to nothing
          // sum_j p_j dP_j = dout_i . out_i, since out_i = sum_j p_j z_j v_j.
          const T di = dot(doi, po + s.q_at(bi, i, h), s.d);
          for (int64_t j = 0; j < s.tk; ++j) {
            if (!visible(bi, i, j)) continue;
            const T* kj = pk + s.kv_at(bi, j, kvh);
            const T* vj = pv + s.kv_at(bi, j, kvh);
            const T p = std::exp(scale * dot(qi, kj, s.d) + bias(bi, h, i, j) - plse[r]);
            const T z = mask(bi, h, i, j);
            const T dprob = z * dot(doi, vj, s.d) - di;
            const T ds = scale * p * dprob;                                // d loss / d (q_i.k_j)
            if (pds != nullptr) pds[s.score_at(bi, h, i, j)] = p * dprob;  // d loss / d score_ij
            T* dkj = pdk + s.kv_at(bi, j, kvh);
            T* dvj = pdv + s.kv_at(bi, j, kvh);
            for (int64_t x = 0; x < s.d; ++x) {
              dqi[x] += ds * kj[x];
              dkj[x] += ds * qi[x];
              dvj[x] += p * z * doi[x];
            }
          }
        }
      }
    }
    if (batch_sum) {
      const int64_t n = s.hq * s.tq * s.tk;
      T* pdb = dbias->data<T>();
#pragma omp parallel for if (worth_threads(s.b * n))
      for (int64_t e = 0; e < n; ++e) {
        T acc = 0;
        for (int64_t bi = 0; bi < s.b; ++bi) acc += pds[bi * n + e];
        pdb[e] = acc;
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
