// Host inverted dropout: element i kept iff philox_uniform(seed, stream, first + i) > p, so the
// mask is a function of the element index alone, independent of thread count.
#include "kernels/cpu/dropout.h"

#include "kernels/cpu/float_dispatch.h"
#include "kernels/cpu/parallel.h"

namespace me::cpu {

void dropout(const Tensor& x, Tensor& y, double p, uint64_t seed, uint64_t stream, uint64_t first) {
  const int64_t n = x.numel();
  const float pf = static_cast<float>(p);
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    if (p == 0.0) {
#pragma omp parallel for if (worth_threads(n))
      for (int64_t i = 0; i < n; ++i) py[i] = px[i];
      return;
    }
    const T keep_scale = static_cast<T>(1.0 / (1.0 - p));
#pragma omp parallel for if (worth_threads(n))
    for (int64_t i = 0; i < n; ++i) {
      py[i] = dropout_keep(seed, stream, first + static_cast<uint64_t>(i), pf) ? px[i] * keep_scale
                                                                               : T(0);
    }
  });
}

}  // namespace me::cpu
