// Host RMSNorm: rows in parallel for y and dx; dweight by column blocks, each summing its rows in
// order, so results are bitwise identical for any thread count (as kernels/cpu/layernorm.cpp).
#include "kernels/cpu/rmsnorm.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/float_dispatch.h"
#include "kernels/cpu/parallel.h"

namespace me::cpu {

void rmsnorm_forward(const Tensor& x, const Tensor& weight, double eps, Tensor& y, Tensor& rstd) {
  const int64_t c = x.dim(-1);
  const int64_t n = c == 0 ? 0 : x.numel() / c;
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();       // (N, C)
    const T* pw = weight.data<T>();  // (C)
    T* py = y.data<T>();             // (N, C)
    T* prstd = rstd.data<T>();       // (N)
#pragma omp parallel for if (worth_threads(n * c))
    for (int64_t row = 0; row < n; ++row) {
      const T* xr = px + row * c;
      T ms = 0;
      for (int64_t j = 0; j < c; ++j) ms += xr[j] * xr[j];
      ms /= static_cast<T>(c);
      const T s = T(1) / std::sqrt(ms + static_cast<T>(eps));
      T* yr = py + row * c;
      for (int64_t j = 0; j < c; ++j) yr[j] = xr[j] * s * pw[j];
      prstd[row] = s;
    }
  });
}

void rmsnorm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& rstd,
                      Tensor& dx, Tensor& dweight) {
  const int64_t c = x.dim(-1);
  const int64_t n = c == 0 ? 0 : x.numel() / c;
  const int64_t blocks = (c + kColumnBlock - 1) / kColumnBlock;
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pdy = dy.data<T>();      // (N, C)
    const T* px = x.data<T>();        // (N, C)
    const T* pw = weight.data<T>();   // (C)
    const T* prstd = rstd.data<T>();  // (N)
    T* pdx = dx.data<T>();            // (N, C)
    T* pdw = dweight.data<T>();       // (C)
    // With xhat = x * rstd and g = weight * dy: dx = rstd * (g - xhat * mean(g * xhat)).
#pragma omp parallel for if (worth_threads(n * c))
    for (int64_t row = 0; row < n; ++row) {
      const T* dyr = pdy + row * c;
      const T* xr = px + row * c;
      const T s = prstd[row];
      T g_xhat_mean = 0;
      for (int64_t j = 0; j < c; ++j) g_xhat_mean += pw[j] * dyr[j] * xr[j] * s;
      g_xhat_mean /= static_cast<T>(c);
      T* dxr = pdx + row * c;
      for (int64_t j = 0; j < c; ++j) dxr[j] = (pw[j] * dyr[j] - xr[j] * s * g_xhat_mean) * s;
    }
    // dweight += sum_rows dy * xhat.
#pragma omp parallel for if (worth_threads(n * c))
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const int64_t c0 = blk * kColumnBlock, c1 = std::min(c, c0 + kColumnBlock);
      T acc[kColumnBlock] = {};
      for (int64_t row = 0; row < n; ++row) {
        const T* dyr = pdy + row * c;
        const T* xr = px + row * c;
        const T s = prstd[row];
        for (int64_t j = c0; j < c1; ++j) acc[j - c0] += dyr[j] * xr[j] * s;
      }
      for (int64_t j = c0; j < c1; ++j) pdw[j] += acc[j - c0];
    }
  });
}

}  // namespace me::cpu
