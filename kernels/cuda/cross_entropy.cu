// CUDA softmax cross-entropy, one block per row. Forward reads the row once with an online
// softmax (running max and sum rescaled as the max grows): lse = max + log(sum exp(logit - max)),
// loss = lse - logit[target]. Backward: dlogits = (exp(logit - lse) - onehot(target)) * dloss,
// which may overwrite the logits in place. Both move 16-byte packs when the row allows; the
// (max, sum) pairs combine in a fixed tree, so results are deterministic.
#include <cfloat>

#include "kernels/cross_entropy.h"
#include "kernels/cuda/cross_entropy.h"
#include "kernels/cuda/storage.cuh"

namespace me::cuda {
namespace {

constexpr int kRowThreads = 512;

// A softmax partial: the max of the elements seen and the sum of exp(element - max).
struct Softmax {
  float max = -FLT_MAX;
  float sum = 0.0f;

  __device__ void add(float x) {
    if (x > max) {
      sum = sum * expf(max - x) + 1.0f;
      max = x;
    } else {
      sum += expf(x - max);
    }
  }
  __device__ static Softmax combine(Softmax a, Softmax b) {
    const float m = fmaxf(a.max, b.max);
    if (m == -FLT_MAX) return a;
    return {m, a.sum * expf(a.max - m) + b.sum * expf(b.max - m)};
  }
};

__device__ Softmax warp_combine(Softmax p) {
  for (int offset = 16; offset > 0; offset /= 2) {
    Softmax other{__shfl_xor_sync(0xffffffffu, p.max, offset),
                  __shfl_xor_sync(0xffffffffu, p.sum, offset)};
    p = Softmax::combine(p, other);
  }
  return p;
}

// Every thread gets the block's partial: lanes combine within warps, warp 0 combines the warps.
__device__ Softmax block_combine(Softmax p) {
  __shared__ Softmax warps[kRowThreads / 32];
  p = warp_combine(p);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) warps[warp] = p;
  __syncthreads();
  if (warp == 0) {
    p = lane < kRowThreads / 32 ? warps[lane] : Softmax{};
    p = warp_combine(p);
    if (lane == 0) warps[0] = p;
  }
  __syncthreads();
  return warps[0];
}

template <typename T, bool kPacked>
__global__ void __launch_bounds__(kRowThreads)
    cross_entropy_forward_kernel(const T* logits, const int32_t* targets, float* losses, float* lse,
                                 int64_t v) {
  const int64_t row = blockIdx.x;
  const T* lr = logits + row * v;
  Softmax p;
  if constexpr (kPacked) {
    const auto* packs = reinterpret_cast<const Pack<T>*>(lr);
    for (int64_t i = threadIdx.x; i < v / Pack<T>::kSize; i += blockDim.x) {
      const Pack<T> x = packs[i];
#pragma unroll
      for (int j = 0; j < Pack<T>::kSize; ++j) p.add(load(x.v[j]));
    }
  } else {
    for (int64_t j = threadIdx.x; j < v; j += blockDim.x) p.add(load(lr[j]));
  }
  p = block_combine(p);
  if (threadIdx.x == 0) {
    const float row_lse = p.max + logf(p.sum);
    lse[row] = row_lse;
    const int32_t target = targets[row];
    losses[row] = target == kTargetOnAnotherShard ? row_lse : row_lse - load(lr[target]);
  }
}

template <typename T, bool kPacked>
__global__ void __launch_bounds__(kRowThreads)
    cross_entropy_backward_kernel(const T* logits, const int32_t* targets, const float* lse,
                                  const float* dlosses, T* dlogits, int64_t v) {
  const int64_t row = blockIdx.x;
  const T* lr = logits + row * v;
  T* dr = dlogits + row * v;
  const float row_lse = lse[row], g = dlosses[row];
  const int64_t target = targets[row];
  if constexpr (kPacked) {
    constexpr int k = Pack<T>::kSize;
    const auto* in = reinterpret_cast<const Pack<T>*>(lr);
    auto* out = reinterpret_cast<Pack<T>*>(dr);
    for (int64_t i = threadIdx.x; i < v / k; i += blockDim.x) {
      const Pack<T> x = in[i];
      Pack<T> d;
#pragma unroll
      for (int j = 0; j < k; ++j) {
        float dj = expf(load(x.v[j]) - row_lse) * g;
        if (i * k + j == target) dj -= g;
        d.v[j] = store_as<T>(dj);
      }
      out[i] = d;
    }
  } else {
    for (int64_t j = threadIdx.x; j < v; j += blockDim.x) {
      float d = expf(load(lr[j]) - row_lse) * g;
      if (j == target) d -= g;
      dr[j] = store_as<T>(d);
    }
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
    const T* l = data_as<T>(logits);
    // Every row starts on a pack boundary when the first does and v is whole packs.
    auto launch = [&](auto kernel) {
      kernel<<<static_cast<unsigned>(n), kRowThreads, 0, ctx.stream>>>(l, targets.data<int32_t>(),
                                                                       fptr(losses), fptr(lse), v);
    };
    if (packable<T>(v, l)) {
      launch(cross_entropy_forward_kernel<T, true>);
    } else {
      launch(cross_entropy_forward_kernel<T, false>);
    }
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
    const T* l = data_as<T>(logits);
    T* d = data_as<T>(dlogits);
    auto launch = [&](auto kernel) {
      kernel<<<static_cast<unsigned>(n), kRowThreads, 0, ctx.stream>>>(
          l, targets.data<int32_t>(), fptr(lse), fptr(dlosses), d, v);
    };
    if (packable<T>(v, l, d)) {
      launch(cross_entropy_backward_kernel<T, true>);
    } else {
      launch(cross_entropy_backward_kernel<T, false>);
    }
  });
  ME_CUDA_CHECK(cudaGetLastError());
}

}  // namespace me::cuda
