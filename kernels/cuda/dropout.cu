// CUDA inverted dropout: element i kept iff dropout_keep(seed, stream, i, p), the rule the host
// loops use, so both devices drop the same elements; kept values are scaled by 1/(1-p).
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/dropout.h"
#include "kernels/dropout_keep.h"

namespace me::cuda {
namespace {

__global__ void dropout_kernel(const float* x, float* y, int64_t n, float p, float keep_scale,
                               uint64_t seed, uint64_t stream) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    y[i] = dropout_keep(seed, stream, static_cast<uint64_t>(i), p) ? x[i] * keep_scale : 0.0f;
  }
}

}  // namespace

void dropout(const Tensor& x, Tensor& y, double p, uint64_t seed, uint64_t stream) {
  require_f32("dropout", "x", x);
  const int64_t n = x.numel();
  if (n == 0) return;
  const Context& ctx = context(x.device());
  if (p == 0.0) {
    if (fptr(y) != fptr(x)) {
      ME_CUDA_CHECK(
          cudaMemcpyAsync(fptr(y), fptr(x), x.nbytes(), cudaMemcpyDeviceToDevice, ctx.stream));
    }
    return;
  }
  const float keep_scale = static_cast<float>(1.0 / (1.0 - p));
  dropout_kernel<<<grid_for(n), kThreads, 0, ctx.stream>>>(
      fptr(x), fptr(y), n, static_cast<float>(p), keep_scale, seed, stream);
  ME_CUDA_CHECK(cudaGetLastError());
}

}  // namespace me::cuda
