// CUDA GEMM through cuBLAS (f32 compute, TF32 off): the CUDA side of kernels/matmul.h.
#pragma once

#include "engine/core/tensor.h"

namespace me::cuda {

// Arguments already checked by me::matmul; f32, bf16 or f16 (c may be f32 for half inputs).
void matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c, float alpha,
            float beta);

}  // namespace me::cuda
