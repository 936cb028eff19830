// CUDA GeLU, tanh approximation, with the CPU reference's formulas:
// y = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3);
// dy/dx = 0.5 (1 + tanh(u)) + 0.5 x (1 - tanh(u)^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2).
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/gelu.h"

namespace me::cuda {
namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kCubic = 0.044715f;

__global__ void gelu_forward_kernel(const float* x, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float v = x[i];
    y[i] = 0.5f * v * (1.0f + tanhf(kSqrt2OverPi * (v + kCubic * v * v * v)));
  }
}

__global__ void gelu_backward_kernel(const float* x, const float* dy, float* dx, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float v = x[i];
    const float t = tanhf(kSqrt2OverPi * (v + kCubic * v * v * v));
    const float local = 0.5f * (1.0f + t) +
                        0.5f * v * (1.0f - t * t) * kSqrt2OverPi * (1.0f + 3.0f * kCubic * v * v);
    dx[i] = local * dy[i];
  }
}

}  // namespace

void gelu_forward(const Tensor& x, Tensor& y) {
  require_f32("gelu_forward", "x", x);
  const int64_t n = x.numel();
  if (n == 0) return;
  const Context& ctx = context(x.device());
  gelu_forward_kernel<<<grid_for(n), kThreads, 0, ctx.stream>>>(fptr(x), fptr(y), n);
  ME_CUDA_CHECK(cudaGetLastError());
}

void gelu_backward(const Tensor& x, const Tensor& dy, Tensor& dx) {
  require_f32("gelu_backward", "x", x);
  const int64_t n = x.numel();
  if (n == 0) return;
  const Context& ctx = context(x.device());
  gelu_backward_kernel<<<grid_for(n), kThreads, 0, ctx.stream>>>(fptr(x), fptr(dy), fptr(dx), n);
  ME_CUDA_CHECK(cudaGetLastError());
}

}  // namespace me::cuda
