// CUDA SwiGLU, one thread per output element, with the CPU reference's formulas. With
// s = sigmoid(g): out = g * s * up, d out / d gate = up * s * (1 + g * (1 - s)), d out / d up = g * s.
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/swiglu.h"

namespace me::cuda {
namespace {

__device__ float sigmoid(float g) { return 1.0f / (1.0f + expf(-g)); }

// x (N, 2F) rows are [gate | up]; element i of out (N, F) is row i / F, column i % F.
__global__ void swiglu_forward_kernel(const float* x, float* out, int64_t total, int64_t f) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / f, j = i % f;
    const float g = x[row * 2 * f + j];
    const float up = x[row * 2 * f + f + j];
    out[i] = g * sigmoid(g) * up;
  }
}

__global__ void swiglu_backward_kernel(const float* x, const float* dout, float* dx, int64_t total,
                                       int64_t f) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / f, j = i % f;
    const int64_t ig = row * 2 * f + j, iu = ig + f;
    const float g = x[ig], up = x[iu], d = dout[i];
    const float s = sigmoid(g);
    dx[ig] = d * up * s * (1.0f + g * (1.0f - s));
    dx[iu] = d * g * s;
  }
}

}  // namespace

void swiglu_forward(const Tensor& x, Tensor& out) {
  require_f32("swiglu_forward", "x", x);
  const int64_t total = out.numel(), f = out.dim(-1);
  if (total == 0) return;
  const Context& ctx = context(x.device());
  swiglu_forward_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(fptr(x), fptr(out), total,
                                                                      f);
  ME_CUDA_CHECK(cudaGetLastError());
}

void swiglu_backward(const Tensor& x, const Tensor& dout, Tensor& dx) {
  require_f32("swiglu_backward", "x", x);
  const int64_t total = dout.numel(), f = dout.dim(-1);
  if (total == 0) return;
  const Context& ctx = context(x.device());
  swiglu_backward_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(fptr(x), fptr(dout),
                                                                       fptr(dx), total, f);
  ME_CUDA_CHECK(cudaGetLastError());
}

}  // namespace me::cuda
