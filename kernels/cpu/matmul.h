// Host GEMM through BLAS (OpenBLAS): the CPU side of kernels/matmul.h.
#pragma once

#include "engine/core/tensor.h"

namespace me::cpu {

// Arguments already checked by me::matmul; 3-D tensors run one GEMM per batch entry.
void matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c, float alpha,
            float beta);

}  // namespace me::cpu
