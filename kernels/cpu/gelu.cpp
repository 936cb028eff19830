// Host GeLU, tanh approximation: y = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3).
// dy/dx = 0.5 (1 + tanh(u)) + 0.5 x (1 - tanh(u)^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2).
#include "kernels/cpu/gelu.h"

#include <cmath>

#include "kernels/cpu/float_dispatch.h"
#include "kernels/cpu/parallel.h"

namespace me::cpu {
namespace {
constexpr double kSqrt2OverPi = 0.7978845608028654;  // sqrt(2 / pi)
constexpr double kCubic = 0.044715;
}  // namespace

void gelu_forward(const Tensor& x, Tensor& y) {
  const int64_t n = x.numel();
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T s = static_cast<T>(kSqrt2OverPi), a = static_cast<T>(kCubic);
    const T* px = x.data<T>();
    T* py = y.data<T>();
#pragma omp parallel for if (worth_threads(n))
    for (int64_t i = 0; i < n; ++i) {
      const T v = px[i];
      py[i] = T(0.5) * v * (T(1) + std::tanh(s * (v + a * v * v * v)));
    }
  });
}

void gelu_backward(const Tensor& x, const Tensor& dy, Tensor& dx) {
  const int64_t n = x.numel();
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T s = static_cast<T>(kSqrt2OverPi), a = static_cast<T>(kCubic);
    const T* px = x.data<T>();
    const T* pdy = dy.data<T>();
    T* pdx = dx.data<T>();
#pragma omp parallel for if (worth_threads(n))
    for (int64_t i = 0; i < n; ++i) {
      const T v = px[i];
      const T t = std::tanh(s * (v + a * v * v * v));
      const T local =
          T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) * s * (T(1) + T(3) * a * v * v);
      pdx[i] = local * pdy[i];
    }
  });
}

}  // namespace me::cpu
