// Per-device CUDA state the kernels share (the stream and one cuBLAS handle) and the small launch
// helpers every kernels/cuda/*.cu file uses. Included from .cu files only (C++17).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "engine/core/tensor.h"
#include "kernels/cuda/cuda_check.h"

#define ME_CUBLAS_CHECK(expr)                                                                    \
  do {                                                                                           \
    const cublasStatus_t me_status_ = (expr);                                                    \
    if (me_status_ != CUBLAS_STATUS_SUCCESS) {                                                   \
      throw ::me::Error(fmt::format("{} ({}) in '{}' at {}:{}", cublasGetStatusName(me_status_), \
                                    cublasGetStatusString(me_status_), #expr, __FILE__,          \
                                    __LINE__));                                                  \
    }                                                                                            \
  } while (0)

namespace me::cuda {

struct Context {
  int device = 0;
  // The legacy default stream: host/device copies (cudaMemcpy) and every kernel are ordered on
  // it, so the caching allocator may hand a freed block to the next request at once.
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
};

// Makes `device` current and returns its context (created on first use; never destroyed, since
// the CUDA runtime may be gone at static destruction).
Context& context(Device device);

// f32 is the only dtype the CUDA kernels compute in so far; anything else is an me::Error, since a
// recipe's dtype can reach it.
void require_f32(const char* op, const char* name, const Tensor& t);

inline constexpr int kThreads = 256;

// Blocks for a grid-stride loop over n elements (capped: each thread loops).
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  const int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 65535 * 8 ? 65535 * 8 : blocks));
}

inline unsigned ceil_div(int64_t a, int64_t b) { return static_cast<unsigned>((a + b - 1) / b); }

// The f32 data pointer of a CUDA tensor.
inline float* fptr(const Tensor& t) { return t.data<float>(); }

}  // namespace me::cuda
