// Host LayerNorm: rows in parallel for y and dx; dweight/dbias by column blocks, each summing its
// rows in order, so results are bitwise identical for any thread count. Derivation of the
// backward: llm.c doc/layernorm/layernorm.md.
#include "kernels/cpu/layernorm.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/float_dispatch.h"
#include "kernels/cpu/parallel.h"

namespace me::cpu {

void layernorm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                       Tensor& y, Tensor& mean, Tensor& rstd) {
  const int64_t c = x.dim(-1);
  const int64_t n = c == 0 ? 0 : x.numel() / c;
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();       // (N, C)
    const T* pw = weight.data<T>();  // (C)
    const T* pb = bias.data<T>();    // (C)
    T* py = y.data<T>();             // (N, C)
    T* pmean = mean.data<T>();       // (N)
    T* prstd = rstd.data<T>();       // (N)
#pragma omp parallel for if (worth_threads(n * c))
    for (int64_t row = 0; row < n; ++row) {
      const T* xr = px + row * c;
      T m = 0;
      for (int64_t j = 0; j < c; ++j) m += xr[j];
      m /= static_cast<T>(c);
      T var = 0;  // biased, as torch.nn.LayerNorm
      for (int64_t j = 0; j < c; ++j) var += (xr[j] - m) * (xr[j] - m);
      var /= static_cast<T>(c);
      const T s = T(1) / std::sqrt(var + static_cast<T>(eps));
      T* yr = py + row * c;
      for (int64_t j = 0; j < c; ++j) yr[j] = (xr[j] - m) * s * pw[j] + pb[j];
      pmean[row] = m;
      prstd[row] = s;
    }
  });
}

void layernorm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                        const Tensor& rstd, Tensor& dx, Tensor& dweight, Tensor& dbias) {
  const int64_t c = x.dim(-1);
  const int64_t n = c == 0 ? 0 : x.numel() / c;
  const int64_t blocks = (c + kColumnBlock - 1) / kColumnBlock;
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pdy = dy.data<T>();      // (N, C)
    const T* px = x.data<T>();        // (N, C)
    const T* pw = weight.data<T>();   // (C)
    const T* pmean = mean.data<T>();  // (N)
    const T* prstd = rstd.data<T>();  // (N)
    T* pdx = dx.data<T>();            // (N, C)
    T* pdw = dweight.data<T>();       // (C)
    T* pdb = dbias.data<T>();         // (C)
    // dx = rstd * (dnorm - mean(dnorm) - xhat * mean(dnorm * xhat)), dnorm = weight * dy.
#pragma omp parallel for if (worth_threads(n * c))
    for (int64_t row = 0; row < n; ++row) {
      const T* dyr = pdy + row * c;
      const T* xr = px + row * c;
      const T m = pmean[row], s = prstd[row];
      T dnorm_mean = 0, dnorm_xhat_mean = 0;
      for (int64_t j = 0; j < c; ++j) {
        const T dnorm = pw[j] * dyr[j];
        dnorm_mean += dnorm;
        dnorm_xhat_mean += dnorm * (xr[j] - m) * s;
      }
      dnorm_mean /= static_cast<T>(c);
      dnorm_xhat_mean /= static_cast<T>(c);
      T* dxr = pdx + row * c;
      for (int64_t j = 0; j < c; ++j) {
        const T xhat = (xr[j] - m) * s;
        dxr[j] = (pw[j] * dyr[j] - dnorm_mean - xhat * dnorm_xhat_mean) * s;
      }
    }
    // dweight += sum_rows dy * xhat; dbias += sum_rows dy.
#pragma omp parallel for if (worth_threads(n * c))
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const int64_t c0 = blk * kColumnBlock, c1 = std::min(c, c0 + kColumnBlock);
      T acc_w[kColumnBlock] = {}, acc_b[kColumnBlock] = {};
      for (int64_t row = 0; row < n; ++row) {
        const T* dyr = pdy + row * c;
        const T* xr = px + row * c;
        const T m = pmean[row], s = prstd[row];
        for (int64_t j = c0; j < c1; ++j) {
          acc_w[j - c0] += dyr[j] * (xr[j] - m) * s;
          acc_b[j - c0] += dyr[j];
        }
      }
      for (int64_t j = c0; j < c1; ++j) {
        pdw[j] += acc_w[j - c0];
        pdb[j] += acc_b[j - c0];
      }
    }
  });
}

}  // namespace me::cpu
