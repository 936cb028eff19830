// CUDA softmax cross-entropy, one block per row looping over the vocabulary:
// lse = max + log(sum exp(logit - max)), loss = lse - logit[target];
// dlogits = (exp(logit - lse) - onehot(target)) * dloss. Block reductions pair threads in a fixed
// tree, so results are deterministic.
#include <cfloat>

#include "kernels/cuda/cross_entropy.h"
#include "kernels/cuda/storage.cuh"

namespace me::cuda {
namespace {

template <typename Op>
__device__ float block_reduce(float v, float* shared, Op op) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride)
      shared[threadIdx.x] = op(shared[threadIdx.x], shared[threadIdx.x + stride]);
    __syncthreads();
  }
  const float out = shared[0];
  __syncthreads();  // shared is reused by the next reduction
  return out;
}

struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
struct SumOp {
  __device__ float operator()(float a, float b) const { return a + b; }
};

template <typename T>
__global__ void cross_entropy_forward_kernel(const T* logits, const int32_t* targets, float* losses,
                                             float* lse, int64_t v) {
  __shared__ float shared[kThreads];
  const int64_t row = blockIdx.x;
  const T* lr = logits + row * v;
  float m = -FLT_MAX;
  for (int64_t j = threadIdx.x; j < v; j += blockDim.x) m = fmaxf(m, load(lr[j]));
  m = block_reduce(m, shared, MaxOp{});
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j < v; j += blockDim.x) sum += expf(load(lr[j]) - m);
  sum = block_reduce(sum, shared, SumOp{});
  if (threadIdx.x == 0) {
    const float row_lse = m + logf(sum);
    lse[row] = row_lse;
    losses[row] = row_lse - load(lr[targets[row]]);
  }
}

template <typename T>
__global__ void cross_entropy_backward_kernel(const T* logits, const int32_t* targets,
                                              const float* lse, const float* dlosses, T* dlogits,
                                              int64_t v) {
  const int64_t row = blockIdx.x;
  const T* lr = logits + row * v;
  T* dr = dlogits + row * v;
  const float row_lse = lse[row], g = dlosses[row];
  const int64_t target = targets[row];
  for (int64_t j = threadIdx.x; j < v; j += blockDim.x) {
    float d = expf(load(lr[j]) - row_lse) * g;
    if (j == target) d -= g;
    dr[j] = store_as<T>(d);
  }
}

}  // namespace

void cross_entropy_forward(const Tensor& logits, const Tensor& targets, Tensor& losses,
                           Tensor& lse) {
  const int64_t n = logits.dim(0), v = logits.dim(1);
  if (n == 0) return;
  ME_CHECK(n <= INT32_MAX, "cross_entropy_forward: {} rows", n);
  const Context& ctx = context(logits.device());
  with_storage(logits.dtype(), "cross_entropy_forward", [&](auto tag) {
    using T = decltype(tag);
    cross_entropy_forward_kernel<<<static_cast<unsigned>(n), kThreads, 0, ctx.stream>>>(
        data_as<T>(logits), targets.data<int32_t>(), fptr(losses), fptr(lse), v);
  });
  ME_CUDA_CHECK(cudaGetLastError());
}

void cross_entropy_backward(const Tensor& logits, const Tensor& targets, const Tensor& lse,
                            const Tensor& dlosses, Tensor& dlogits) {
  const int64_t n = logits.dim(0), v = logits.dim(1);
  if (n == 0) return;
  ME_CHECK(n <= INT32_MAX, "cross_entropy_backward: {} rows", n);
  const Context& ctx = context(logits.device());
  with_storage(logits.dtype(), "cross_entropy_backward", [&](auto tag) {
    using T = decltype(tag);
    cross_entropy_backward_kernel<<<static_cast<unsigned>(n), kThreads, 0, ctx.stream>>>(
        data_as<T>(logits), targets.data<int32_t>(), fptr(lse), fptr(dlosses), data_as<T>(dlogits),
        v);
  });
  ME_CUDA_CHECK(cudaGetLastError());
}

}  // namespace me::cuda
