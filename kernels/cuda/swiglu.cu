// CUDA SwiGLU, one thread per output element, with the CPU reference's formulas. With
// s = sigmoid(g): out = g * s * up, d out / d gate = up * s * (1 + g * (1 - s)), d out / d up = g *
// s.
#include "kernels/cuda/storage.cuh"
#include "kernels/cuda/swiglu.h"

namespace me::cuda {
namespace {

__device__ float sigmoid(float g) { return 1.0f / (1.0f + expf(-g)); }

// x (N, 2F) rows are [gate | up]; element i of out (N, F) is row i / F, column i % F.
template <typename T>
__global__ void swiglu_forward_kernel(const T* x, T* out, int64_t total, int64_t f) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / f, j = i % f;
    const float g = load(x[row * 2 * f + j]);
    const float up = load(x[row * 2 * f + f + j]);
    out[i] = store_as<T>(g * sigmoid(g) * up);
  }
}

template <typename T>
__global__ void swiglu_backward_kernel(const T* x, const T* dout, T* dx, int64_t total, int64_t f) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / f, j = i % f;
    const int64_t ig = row * 2 * f + j, iu = ig + f;
    const float g = load(x[ig]), up = load(x[iu]), d = load(dout[i]);
    const float s = sigmoid(g);
    dx[ig] = store_as<T>(d * up * s * (1.0f + g * (1.0f - s)));
    dx[iu] = store_as<T>(d * g * s);
  }
}

}  // namespace

void swiglu_forward(const Tensor& x, Tensor& out) {
  const int64_t total = out.numel(), f = out.dim(-1);
  if (total == 0) return;
  const Context& ctx = context(x.device());
  with_storage(x.dtype(), "swiglu_forward", [&](auto tag) {
    using T = decltype(tag);
    swiglu_forward_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(data_as<T>(x),
                                                                        data_as<T>(out), total, f);
  });
  ME_CUDA_CHECK(cudaGetLastError());
}

void swiglu_backward(const Tensor& x, const Tensor& dout, Tensor& dx) {
  const int64_t total = dout.numel(), f = dout.dim(-1);
  if (total == 0) return;
  const Context& ctx = context(x.device());
  with_storage(x.dtype(), "swiglu_backward", [&](auto tag) {
    using T = decltype(tag);
    swiglu_backward_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(
        data_as<T>(x), data_as<T>(dout), data_as<T>(dx), total, f);
  });
  ME_CUDA_CHECK(cudaGetLastError());
}

}  // namespace me::cuda
