// Runs a block of a test under a given OpenMP (and OpenBLAS) thread count, restoring the old one,
// so determinism tests can compare results across thread counts.
#pragma once

#include <cblas.h>
#include <omp.h>

namespace me::test {

class ScopedThreadCount {
 public:
  explicit ScopedThreadCount(int threads)
      : omp_(omp_get_max_threads()), blas_(openblas_get_num_threads()) {
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
  }
  ~ScopedThreadCount() {
    omp_set_num_threads(omp_);
    openblas_set_num_threads(blas_);
  }
  ScopedThreadCount(const ScopedThreadCount&) = delete;
  ScopedThreadCount& operator=(const ScopedThreadCount&) = delete;

 private:
  int omp_;
  int blas_;
};

}  // namespace me::test
