// Host cached attention: for query row (b, i, h) at position p, scores s_j = scale q.k_j for
// j <= p, then out = sum_j softmax(s)_j v_j, accumulated in the element type like the training
// kernel so the cached and recomputed paths agree to rounding; padding queries give zeros.
#include "kernels/cpu/decode_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/float_dispatch.h"
#include "kernels/cpu/parallel.h"

namespace me::cpu {

void decode_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                      std::span<const int64_t> start, std::span<const int64_t> counts, Tensor& out,
                      double scale) {
  const int64_t b = q.dim(0), tn = q.dim(1), hq = q.dim(2), d = q.dim(3);
  const int64_t s = k_cache.dim(1), g = k_cache.dim(2), per_group = hq / g;
  const int64_t rows = b * tn * hq;
  dispatch_float(q.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pq = q.data<T>();
    const T* pk = k_cache.data<T>();
    const T* pv = v_cache.data<T>();
    T* po = out.data<T>();
    const T scale_t = static_cast<T>(scale);
#pragma omp parallel if (worth_threads(rows * s * d))
    {
      std::vector<T> scores(static_cast<size_t>(s));
#pragma omp for schedule(static)
      for (int64_t row = 0; row < rows; ++row) {
        const int64_t h = row % hq, i = (row / hq) % tn, bi = row / (hq * tn);
        T* oi = po + row * d;
        std::fill(oi, oi + d, T(0));
        if (i >= counts[bi]) continue;
        const int64_t keys = start[bi] + i + 1;
        const T* qi = pq + row * d;
        const int64_t kv_head = h / per_group;
        T max_score = -INFINITY;
        for (int64_t j = 0; j < keys; ++j) {
          const T* kj = pk + ((bi * s + j) * g + kv_head) * d;
          T acc = 0;
          for (int64_t x = 0; x < d; ++x) acc += qi[x] * kj[x];
          scores[j] = acc * scale_t;
          max_score = std::max(max_score, scores[j]);
        }
        T total = 0;
        for (int64_t j = 0; j < keys; ++j) {
          scores[j] = std::exp(scores[j] - max_score);
          total += scores[j];
        }
        for (int64_t j = 0; j < keys; ++j) {
          const T p = scores[j] / total;
          const T* vj = pv + ((bi * s + j) * g + kv_head) * d;
          for (int64_t x = 0; x < d; ++x) oi[x] += p * vj[x];
        }
      }
    }
  });
}

}  // namespace me::cpu
