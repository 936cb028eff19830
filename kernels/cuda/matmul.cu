// CUDA GEMM through cuBLAS, row-major by the transpose trick: row-major C = op(A) op(B) is
// column-major C^T = op(B)^T op(A)^T, so B goes first and no data moves. f32 accumulation always
// (TF32 off for f32 inputs); bf16/f16 inputs run on the tensor cores and may write an f32 C (the
// weight gradients accumulated into the fp32 main grads, Megatron's gradient accumulation fusion).
#include <climits>

#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/matmul.h"

namespace me::cuda {
namespace {

cudaDataType_t cuda_type(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return CUDA_R_32F;
    case DType::kBF16:
      return CUDA_R_16BF;
    case DType::kF16:
      return CUDA_R_16F;
    default:
      throw Error(
          fmt::format("matmul: {} tensors are not supported by the CUDA GEMM (f32, bf16 and "
                      "f16 are)",
                      dtype_name(dtype)));
  }
}

int as_int(int64_t v, const char* what) {
  ME_CHECK(v <= INT_MAX, "matmul: {} {} exceeds cuBLAS's int range", what, v);
  return static_cast<int>(v);
}

}  // namespace

void matmul(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c, float alpha,
            float beta) {
  const cudaDataType_t in_type = cuda_type(a.dtype()), out_type = cuda_type(c.dtype());
  const int64_t m = c.dim(-2), n = c.dim(-1);
  const int64_t k = trans_a ? a.dim(-2) : a.dim(-1);
  const int64_t batch = a.ndim() == 3 ? a.dim(0) : 1;
  if (m == 0 || n == 0 || batch == 0) return;
  if (k == 0) {  // an empty sum: c = beta * c (and beta == 0 must not read c)
    if (beta == 0.0f) {
      fill(c, 0.0);
    } else {
      scale(c, beta);
    }
    return;
  }
  const Context& ctx = context(c.device());
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  // Leading dimensions are the row lengths of the row-major operands.
  const int lda = as_int(a.dim(-1), "lda"), ldb = as_int(b.dim(-1), "ldb");
  const int ldc = as_int(n, "n");
  const long long stride_a = a.dim(-2) * a.dim(-1), stride_b = b.dim(-2) * b.dim(-1);
  const long long stride_c = m * n;
  ME_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
      ctx.cublas, op_b, op_a, ldc, as_int(m, "m"), as_int(k, "k"), &alpha, b.raw_data(), in_type,
      ldb, stride_b, a.raw_data(), in_type, lda, stride_a, &beta, c.raw_data(), out_type, ldc,
      stride_c, as_int(batch, "batch"), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

}  // namespace me::cuda
