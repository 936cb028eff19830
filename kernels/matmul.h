// GEMM: c = alpha * op(a) @ op(b) + beta * c, 2-D or batched 3-D. CPU runs BLAS (OpenBLAS).
#pragma once

#include "engine/core/tensor.h"

namespace me {

// a: (M, K) or (K, M) when trans_a; b: (K, N) or (N, K) when trans_b; c: (M, N).
// With 3-D tensors the leading dimension is a batch that all three share.
// f32 and f64 on CPU; c accumulates when beta != 0.
void matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c,
            float alpha = 1.0f, float beta = 0.0f);

}  // namespace me
