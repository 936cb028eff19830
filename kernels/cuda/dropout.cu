// CUDA inverted dropout: element i kept iff dropout_keep(seed, stream, first + i, p), the rule the
// host loops use, so both devices drop the same elements; kept values are scaled by 1/(1-p).
#include "kernels/cuda/dropout.h"
#include "kernels/cuda/storage.cuh"
#include "kernels/dropout_keep.h"

namespace me::cuda {
namespace {

template <typename T>
__global__ void dropout_kernel(const T* x, T* y, int64_t n, float p, float keep_scale,
                               uint64_t seed, uint64_t stream, uint64_t first) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    y[i] = store_as<T>(dropout_keep(seed, stream, first + static_cast<uint64_t>(i), p)
                           ? load(x[i]) * keep_scale
                           : 0.0f);
  }
}

}  // namespace

void dropout(const Tensor& x, Tensor& y, double p, uint64_t seed, uint64_t stream, uint64_t first) {
  const int64_t n = x.numel();
  if (n == 0) return;
  const Context& ctx = context(x.device());
  if (p == 0.0) {
    if (y.raw_data() != x.raw_data()) {
      ME_CUDA_CHECK(cudaMemcpyAsync(y.raw_data(), x.raw_data(), x.nbytes(),
                                    cudaMemcpyDeviceToDevice, ctx.stream));
    }
    return;
  }
  const float keep_scale = static_cast<float>(1.0 / (1.0 - p));
  with_storage(x.dtype(), "dropout", [&](auto tag) {
    using T = decltype(tag);
    dropout_kernel<<<grid_for(n), kThreads, 0, ctx.stream>>>(
        data_as<T>(x), data_as<T>(y), n, static_cast<float>(p), keep_scale, seed, stream, first);
  });
  ME_CUDA_CHECK(cudaGetLastError());
}

}  // namespace me::cuda
