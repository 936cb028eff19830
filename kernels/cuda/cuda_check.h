// CUDA_CHECK and CUBLAS_CHECK: status name, message, expression and file:line on failure.
#pragma once

#include <cuda_runtime.h>
#include <fmt/format.h>

#include "engine/core/error.h"

#define ME_CUDA_CHECK(expr)                                                                      \
  do {                                                                                           \
    const cudaError_t me_status_ = (expr);                                                       \
    if (me_status_ != cudaSuccess) {                                                             \
      throw ::me::Error(fmt::format("{} ({}) in '{}' at {}:{}", cudaGetErrorName(me_status_),    \
                                    cudaGetErrorString(me_status_), #expr, __FILE__, __LINE__)); \
    }                                                                                            \
  } while (0)
