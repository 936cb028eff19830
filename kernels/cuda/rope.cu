// CUDA RoPE: one thread per channel pair of a head (reads both channels before writing them, so y
// may alias x) and one per pass-through tail channel. The angle is position * inv_freq in f32, as
// the CPU reference and transformers compute it.
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/rope.h"

namespace me::cuda {
namespace {

// Work item i of a head: i < half is pair i; otherwise tail channel 2 * half + (i - half).
__global__ void rope_kernel(const float* x, const int32_t* pos, const float* inv_freq, float sign,
                            bool interleaved, float* y, int64_t total, int64_t h, int64_t d,
                            int64_t half) {
  const int64_t items = d - half;  // per head
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t head = i / items, k = i % items;  // head indexes the (B, T, H) rows
    const float* xh = x + head * d;
    float* yh = y + head * d;
    if (k >= half) {
      const int64_t ch = 2 * half + (k - half);
      yh[ch] = xh[ch];
      continue;
    }
    const float angle = static_cast<float>(pos[head / h]) * inv_freq[k];
    const float cos_t = cosf(angle), sin_t = sign * sinf(angle);
    const int64_t ia = interleaved ? 2 * k : k;
    const int64_t ib = interleaved ? 2 * k + 1 : k + half;
    const float a = xh[ia], b = xh[ib];
    yh[ia] = a * cos_t - b * sin_t;
    yh[ib] = b * cos_t + a * sin_t;
  }
}

}  // namespace

void rope_rotate(const Tensor& x, const Tensor& position_ids, const Tensor& inv_freq,
                 bool interleaved, float direction, Tensor& y) {
  require_f32(direction > 0 ? "rope_forward" : "rope_backward", "x", x);
  const int64_t heads = x.dim(0) * x.dim(1) * x.dim(2), h = x.dim(2), d = x.dim(3);
  const int64_t half = inv_freq.dim(0);
  const int64_t total = heads * (d - half);
  if (total == 0) return;
  const Context& ctx = context(x.device());
  rope_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(
      fptr(x), position_ids.data<int32_t>(), fptr(inv_freq), direction, interleaved, fptr(y),
      total, h, d, half);
  ME_CUDA_CHECK(cudaGetLastError());
}

}  // namespace me::cuda
