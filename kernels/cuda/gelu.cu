// CUDA GeLU, tanh approximation, with the CPU reference's formulas:
// y = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3);
// dy/dx = 0.5 (1 + tanh(u)) + 0.5 x (1 - tanh(u)^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2).
#include <type_traits>

#include "kernels/cuda/gelu.h"
#include "kernels/cuda/storage.cuh"

namespace me::cuda {
namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kCubic = 0.044715f;

__device__ float gelu(float v) {
  return 0.5f * v * (1.0f + tanhf(kSqrt2OverPi * (v + kCubic * v * v * v)));
}

__device__ float gelu_derivative(float v) {
  const float t = tanhf(kSqrt2OverPi * (v + kCubic * v * v * v));
  return 0.5f * (1.0f + t) +
         0.5f * v * (1.0f - t * t) * kSqrt2OverPi * (1.0f + 3.0f * kCubic * v * v);
}

// E is T, or Pack<T> (16-byte loads) when the tensors allow; n counts E.
template <typename T, typename E>
__global__ void gelu_forward_kernel(const E* x, E* y, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    if constexpr (std::is_same_v<E, T>) {
      y[i] = store_as<T>(gelu(load(x[i])));
    } else {
      const E in = x[i];
      E out;
#pragma unroll
      for (int j = 0; j < E::kSize; ++j) out.v[j] = store_as<T>(gelu(load(in.v[j])));
      y[i] = out;
    }
  }
}

template <typename T, typename E>
__global__ void gelu_backward_kernel(const E* x, const E* dy, E* dx, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    if constexpr (std::is_same_v<E, T>) {
      dx[i] = store_as<T>(gelu_derivative(load(x[i])) * load(dy[i]));
    } else {
      const E in = x[i], grad = dy[i];
      E out;
#pragma unroll
      for (int j = 0; j < E::kSize; ++j) {
        out.v[j] = store_as<T>(gelu_derivative(load(in.v[j])) * load(grad.v[j]));
      }
      dx[i] = out;
    }
  }
}

}  // namespace

void gelu_forward(const Tensor& x, Tensor& y) {
  const int64_t n = x.numel();
  if (n == 0) return;
  const Context& ctx = context(x.device());
  with_storage(x.dtype(), "gelu_forward", [&](auto tag) {
    using T = decltype(tag);
    const T* xp = data_as<T>(x);
    T* yp = data_as<T>(y);
    if (packable<T>(n, xp, yp)) {
      using E = Pack<T>;
      gelu_forward_kernel<T, E><<<grid_for(n / E::kSize), kThreads, 0, ctx.stream>>>(
          reinterpret_cast<const E*>(xp), reinterpret_cast<E*>(yp), n / E::kSize);
    } else {
      gelu_forward_kernel<T, T><<<grid_for(n), kThreads, 0, ctx.stream>>>(xp, yp, n);
    }
  });
  ME_CUDA_CHECK(cudaGetLastError());
}

void gelu_backward(const Tensor& x, const Tensor& dy, Tensor& dx) {
  const int64_t n = x.numel();
  if (n == 0) return;
  const Context& ctx = context(x.device());
  with_storage(x.dtype(), "gelu_backward", [&](auto tag) {
    using T = decltype(tag);
    const T *xp = data_as<T>(x), *dyp = data_as<T>(dy);
    T* dxp = data_as<T>(dx);
    if (packable<T>(n, xp, dyp, dxp)) {
      using E = Pack<T>;
      gelu_backward_kernel<T, E><<<grid_for(n / E::kSize), kThreads, 0, ctx.stream>>>(
          reinterpret_cast<const E*>(xp), reinterpret_cast<const E*>(dyp),
          reinterpret_cast<E*>(dxp), n / E::kSize);
    } else {
      gelu_backward_kernel<T, T><<<grid_for(n), kThreads, 0, ctx.stream>>>(xp, dyp, dxp, n);
    }
  });
  ME_CUDA_CHECK(cudaGetLastError());
}

}  // namespace me::cuda
