// Host softmax cross-entropy, one row per loop iteration (rows in parallel):
// lse = max + log(sum exp(logit - max)), loss = lse - logit[target].
#include "kernels/cpu/cross_entropy.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/float_dispatch.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cross_entropy.h"

namespace me::cpu {

void cross_entropy_forward(const Tensor& logits, const Tensor& targets, Tensor& losses,
                           Tensor& lse) {
  const int64_t n = logits.dim(0), v = logits.dim(1);
  const int32_t* pt = targets.data<int32_t>();  // (N)
  dispatch_float(logits.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pl = logits.data<T>();  // (N, V)
    T* ploss = losses.data<T>();     // (N)
    T* plse = lse.data<T>();         // (N)
#pragma omp parallel for if (worth_threads(n * v))
    for (int64_t row = 0; row < n; ++row) {
      const T* lr = pl + row * v;
      T m = lr[0];
      for (int64_t j = 1; j < v; ++j) m = std::max(m, lr[j]);
      T sum = 0;
      for (int64_t j = 0; j < v; ++j) sum += std::exp(lr[j] - m);
      const T row_lse = m + std::log(sum);
      plse[row] = row_lse;
      ploss[row] = pt[row] == kTargetOnAnotherShard ? row_lse : row_lse - lr[pt[row]];
    }
  });
}

void cross_entropy_backward(const Tensor& logits, const Tensor& targets, const Tensor& lse,
                            const Tensor& dlosses, Tensor& dlogits) {
  const int64_t n = logits.dim(0), v = logits.dim(1);
  const int32_t* pt = targets.data<int32_t>();  // (N)
  dispatch_float(logits.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pl = logits.data<T>();    // (N, V)
    const T* plse = lse.data<T>();     // (N)
    const T* pdl = dlosses.data<T>();  // (N)
    T* pd = dlogits.data<T>();         // (N, V)
#pragma omp parallel for if (worth_threads(n * v))
    for (int64_t row = 0; row < n; ++row) {
      const T* lr = pl + row * v;
      T* dr = pd + row * v;
      const T row_lse = plse[row], g = pdl[row];
      for (int64_t j = 0; j < v; ++j) dr[j] = std::exp(lr[j] - row_lse) * g;
      if (pt[row] != kTargetOnAnotherShard) dr[pt[row]] -= g;
    }
  });
}

}  // namespace me::cpu
