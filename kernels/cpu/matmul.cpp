// Host GEMM: row-major cblas_sgemm / cblas_dgemm, transposes by CblasTrans. OpenBLAS's own
// threading changes results with the thread count on some CPUs (0.3.21 on AMD EPYC: 1299 of the
// 6912 elements of a 96 x 72 x 80 sgemm differ between 1 and 2 threads), so we thread instead:
// each batch entry's rows of c go in blocks of kRowBlock, one OpenBLAS call per block inside an
// OpenMP region, where OpenBLAS runs single-threaded. Row blocks that are a multiple of every x86
// kernel's row unroll keep each element's arithmetic that of one single-threaded call, whatever
// the thread count (column blocks would not: the column edge kernels differ);
// tests/kernels/matmul_test.cpp checks it.
#include "kernels/cpu/matmul.h"

#include <cblas.h>

#include <algorithm>

#include "kernels/cpu/float_dispatch.h"

namespace me::cpu {
namespace {

// A multiple of the row unroll of every x86 OpenBLAS GEMM kernel (4, 8, 12, 16, 24, 32).
constexpr int64_t kRowBlock = 96;

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
  const int64_t blocks = (m + kRowBlock - 1) / kRowBlock;
  dispatch_float(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* pc = c.data<T>();
#pragma omp parallel for schedule(static)
    for (int64_t job = 0; job < batch * blocks; ++job) {
      const int64_t i = job / blocks;
      const int64_t row = (job % blocks) * kRowBlock;
      GemmShape block = s;
      block.m = static_cast<blasint>(std::min(kRowBlock, m - row));
      // Row `row` of op(a): row `row` of a, or column `row` of a transposed.
      const T* a_rows = pa + i * m * k + (trans_a ? row : row * k);
      gemm(block, alpha, a_rows, pb + i * k * n, beta, pc + i * m * n + row * n);
    }
  });
}

}  // namespace me::cpu
