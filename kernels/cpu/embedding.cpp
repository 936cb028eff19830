// Host embedding: the gather runs rows in parallel; the scatter-add runs channel blocks in
// parallel, each visiting tokens in order, so repeated ids sum in a fixed order without atomics.
#include "kernels/cpu/embedding.h"

#include <algorithm>

#include "kernels/cpu/float_dispatch.h"
#include "kernels/cpu/parallel.h"
#include "kernels/embedding.h"

namespace me::cpu {

void embedding_forward(const Tensor& ids, const Tensor& table, Tensor& out) {
  const int64_t n = ids.dim(0), c = table.dim(1);
  const int32_t* pid = ids.data<int32_t>();  // (N)
  dispatch_float(table.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pt = table.data<T>();  // (V, C)
    T* po = out.data<T>();          // (N, C)
#pragma omp parallel for if (worth_threads(n * c))
    for (int64_t i = 0; i < n; ++i) {
      if (pid[i] == kIdOnAnotherShard) {
        std::fill_n(po + i * c, c, T(0));
      } else {
        std::copy_n(pt + static_cast<int64_t>(pid[i]) * c, c, po + i * c);
      }
    }
  });
}

void embedding_backward(const Tensor& ids, const Tensor& dout, Tensor& dtable) {
  const int64_t n = ids.dim(0), c = dtable.dim(1);
  const int64_t blocks = (c + kColumnBlock - 1) / kColumnBlock;
  const int32_t* pid = ids.data<int32_t>();  // (N)
  dispatch_float(dtable.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pd = dout.data<T>();  // (N, C)
    T* pt = dtable.data<T>();      // (V, C)
#pragma omp parallel for if (worth_threads(n * c))
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const int64_t c0 = blk * kColumnBlock, c1 = std::min(c, c0 + kColumnBlock);
      for (int64_t i = 0; i < n; ++i) {
        if (pid[i] == kIdOnAnotherShard) continue;
        const T* src = pd + i * c;
        T* dst = pt + static_cast<int64_t>(pid[i]) * c;
        for (int64_t j = c0; j < c1; ++j) dst[j] += src[j];
      }
    }
  });
}

}  // namespace me::cpu
