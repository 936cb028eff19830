// Host RoPE: one (b, t) row of H heads at a time, rows in parallel. The angle is computed as
// transformers does in f32 (position * inv_freq, then cos/sin), so f32 runs match Llama closely.
#include "kernels/cpu/rope.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/float_dispatch.h"
#include "kernels/cpu/parallel.h"

namespace me::cpu {

void rope_rotate(const Tensor& x, const Tensor& position_ids, const Tensor& inv_freq,
                 bool interleaved, double direction, Tensor& y) {
  const int64_t rows = x.dim(0) * x.dim(1), h = x.dim(2), d = x.dim(3);
  const int64_t half = inv_freq.dim(0);               // R / 2 pairs per head
  const int32_t* pos = position_ids.data<int32_t>();  // (B, T)
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();         // (B, T, H, D)
    const T* pf = inv_freq.data<T>();  // (R/2)
    T* py = y.data<T>();               // (B, T, H, D)
    const T sign = static_cast<T>(direction);
#pragma omp parallel if (worth_threads(x.numel()))
    {
      std::vector<T> cos_t(half), sin_t(half);
#pragma omp for
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t j = 0; j < half; ++j) {
          const T angle = static_cast<T>(pos[r]) * pf[j];
          cos_t[j] = std::cos(angle);
          sin_t[j] = sign * std::sin(angle);
        }
        for (int64_t hi = 0; hi < h; ++hi) {
          const T* xh = px + (r * h + hi) * d;
          T* yh = py + (r * h + hi) * d;
          for (int64_t j = 0; j < half; ++j) {
            const int64_t ia = interleaved ? 2 * j : j;
            const int64_t ib = interleaved ? 2 * j + 1 : j + half;
            const T a = xh[ia], b = xh[ib];
            yh[ia] = a * cos_t[j] - b * sin_t[j];
            yh[ib] = b * cos_t[j] + a * sin_t[j];
          }
          if (yh != xh) std::copy(xh + 2 * half, xh + d, yh + 2 * half);
        }
      }
    }
  });
}

}  // namespace me::cpu
