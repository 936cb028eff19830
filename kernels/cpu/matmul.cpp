// Host GEMM: row-major cblas_sgemm / cblas_dgemm, transposes by CblasTrans, batches in a loop.
// OpenBLAS threads a GEMM over blocks of M and N (each c element keeps one K order), so results
// do not depend on the thread count; tests/kernels/matmul_test.cpp checks that.
#include "kernels/cpu/matmul.h"

#include <cblas.h>

#include <algorithm>

#include "kernels/cpu/float_dispatch.h"

namespace me::cpu {
namespace {

struct GemmShape {
  blasint m, n, k, lda, ldb, ldc;
  CBLAS_TRANSPOSE ta, tb;
};

void gemm(const GemmShape& s, float alpha, const float* a, const float* b, float beta, float* c) {
  cblas_sgemm(CblasRowMajor, s.ta, s.tb, s.m, s.n, s.k, alpha, a, s.lda, b, s.ldb, beta, c, s.ldc);
}

void gemm(const GemmShape& s, float alpha, const double* a, const double* b, float beta,
          double* c) {
  cblas_dgemm(CblasRowMajor, s.ta, s.tb, s.m, s.n, s.k, alpha, a, s.lda, b, s.ldb, beta, c, s.ldc);
}

}  // namespace

void matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c, float alpha,
            float beta) {
  const int64_t batch = c.ndim() == 3 ? c.dim(0) : 1;
  const int64_t m = c.dim(-2), n = c.dim(-1);
  const int64_t k = trans_a ? a.dim(-2) : a.dim(-1);
  if (m == 0 || n == 0) return;
  // BLAS wants leading dimensions >= 1 even for empty operands (k == 0 leaves c = beta * c).
  auto ld = [](int64_t x) { return static_cast<blasint>(std::max<int64_t>(1, x)); };
  const GemmShape s{static_cast<blasint>(m),
                    static_cast<blasint>(n),
                    static_cast<blasint>(k),
                    ld(trans_a ? m : k),
                    ld(trans_b ? k : n),
                    ld(n),
                    trans_a ? CblasTrans : CblasNoTrans,
                    trans_b ? CblasTrans : CblasNoTrans};
  dispatch_float(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* pc = c.data<T>();
    for (int64_t i = 0; i < batch; ++i) {
      gemm(s, alpha, pa + i * m * k, pb + i * k * n, beta, pc + i * m * n);
    }
  });
}

}  // namespace me::cpu
