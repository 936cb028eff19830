// Host element-wise ops and reductions. Every output element is owned by one thread and every
// reduction has a fixed order, so results are bitwise identical for any OpenMP thread count.
#include "kernels/cpu/elementwise.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/float_dispatch.h"
#include "kernels/cpu/parallel.h"

namespace me::cpu {

void add_bias(Tensor& y, const Tensor& bias) {
  const int64_t c = y.dim(-1);
  const int64_t n = c == 0 ? 0 : y.numel() / c;
  dispatch_float(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* py = y.data<T>();
    const T* pb = bias.data<T>();
#pragma omp parallel for if (worth_threads(n * c))
    for (int64_t row = 0; row < n; ++row) {
      T* yr = py + row * c;
      for (int64_t j = 0; j < c; ++j) yr[j] += pb[j];
    }
  });
}

void bias_backward(const Tensor& dy, Tensor& dbias) {
  const int64_t c = dy.dim(-1);
  const int64_t n = c == 0 ? 0 : dy.numel() / c;
  const int64_t blocks = (c + kColumnBlock - 1) / kColumnBlock;
  dispatch_float(dy.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pdy = dy.data<T>();
    T* pdb = dbias.data<T>();
#pragma omp parallel for if (worth_threads(n * c))
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const int64_t c0 = blk * kColumnBlock, c1 = std::min(c, c0 + kColumnBlock);
      T acc[kColumnBlock] = {};
      for (int64_t row = 0; row < n; ++row) {
        const T* r = pdy + row * c;
        for (int64_t j = c0; j < c1; ++j) acc[j - c0] += r[j];
      }
      for (int64_t j = c0; j < c1; ++j) pdb[j] += acc[j - c0];
    }
  });
}

void add(const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t n = a.numel();
  dispatch_float(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
#pragma omp parallel for if (worth_threads(n))
    for (int64_t i = 0; i < n; ++i) po[i] = pa[i] + pb[i];
  });
}

void add_into(Tensor& out, const Tensor& a) {
  const int64_t n = a.numel();
  dispatch_float(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data<T>();
    T* po = out.data<T>();
#pragma omp parallel for if (worth_threads(n))
    for (int64_t i = 0; i < n; ++i) po[i] += pa[i];
  });
}

void scale(Tensor& x, double alpha) {
  const int64_t n = x.numel();
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T s = static_cast<T>(alpha);
    T* px = x.data<T>();
#pragma omp parallel for if (worth_threads(n))
    for (int64_t i = 0; i < n; ++i) px[i] *= s;
  });
}

void fill(Tensor& x, double value) {
  const int64_t n = x.numel();
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = static_cast<T>(value);
    T* px = x.data<T>();
#pragma omp parallel for if (worth_threads(n))
    for (int64_t i = 0; i < n; ++i) px[i] = v;
  });
}

double sum_of_squares(const Tensor& x) {
  // Fixed-size chunks (not one per thread) summed in chunk order: the same result for any
  // thread count.
  constexpr int64_t kChunk = 1 << 14;
  const int64_t n = x.numel();
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(chunks, 0.0);
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
#pragma omp parallel for if (worth_threads(n))
    for (int64_t ch = 0; ch < chunks; ++ch) {
      double acc = 0.0;
      const int64_t end = std::min(n, (ch + 1) * kChunk);
      for (int64_t i = ch * kChunk; i < end; ++i) {
        const double v = static_cast<double>(px[i]);
        acc += v * v;
      }
      partial[ch] = acc;
    }
  });
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

bool all_finite(const Tensor& x) {
  const int64_t n = x.numel();
  bool finite = true;
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
#pragma omp parallel for if (worth_threads(n)) reduction(&& : finite)
    for (int64_t i = 0; i < n; ++i) finite = finite && std::isfinite(px[i]);
  });
  return finite;
}

}  // namespace me::cpu
