// Host SwiGLU: one row at a time, rows in parallel. With s = sigmoid(g):
// d out / d gate = up * s * (1 + g * (1 - s)), d out / d up = g * s.
#include "kernels/cpu/swiglu.h"

#include <cmath>

#include "kernels/cpu/float_dispatch.h"
#include "kernels/cpu/parallel.h"

namespace me::cpu {

namespace {
template <typename T>
T sigmoid(T g) {
  return T(1) / (T(1) + std::exp(-g));
}
}  // namespace

void swiglu_forward(const Tensor& x, Tensor& out) {
  const int64_t f = out.dim(-1);
  const int64_t n = f == 0 ? 0 : out.numel() / f;
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();  // (N, 2F)
    T* po = out.data<T>();      // (N, F)
#pragma omp parallel for if (worth_threads(n * f))
    for (int64_t row = 0; row < n; ++row) {
      const T* gate = px + row * 2 * f;
      const T* up = gate + f;
      T* o = po + row * f;
      for (int64_t j = 0; j < f; ++j) o[j] = gate[j] * sigmoid(gate[j]) * up[j];
    }
  });
}

void swiglu_backward(const Tensor& x, const Tensor& dout, Tensor& dx) {
  const int64_t f = dout.dim(-1);
  const int64_t n = f == 0 ? 0 : dout.numel() / f;
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();      // (N, 2F)
    const T* pdo = dout.data<T>();  // (N, F)
    T* pdx = dx.data<T>();          // (N, 2F)
#pragma omp parallel for if (worth_threads(n * f))
    for (int64_t row = 0; row < n; ++row) {
      const T* gate = px + row * 2 * f;
      const T* up = gate + f;
      const T* d = pdo + row * f;
      T* dgate = pdx + row * 2 * f;
      T* dup = dgate + f;
      for (int64_t j = 0; j < f; ++j) {
        const T s = sigmoid(gate[j]);
        dgate[j] = d[j] * up[j] * s * (T(1) + gate[j] * (T(1) - s));
        dup[j] = d[j] * gate[j] * s;
      }
    }
  });
}

}  // namespace me::cpu
