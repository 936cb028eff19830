// CUDA RoPE: one thread per channel pair of a head (reads both channels before writing them, so y
// may alias x) and one per pass-through tail channel. The angle is position * inv_freq in f32, as
// the CPU reference and transformers compute it.
#include "kernels/cuda/rope.h"
#include "kernels/cuda/storage.cuh"

namespace me::cuda {
namespace {

// Work item i of a head: i < half is pair i; otherwise tail channel 2 * half + (i - half).
template <typename T>
__global__ void rope_kernel(const T* x, const int32_t* pos, const float* inv_freq, float sign,
                            bool interleaved, T* y, int64_t total, int64_t h, int64_t d,
                            int64_t half) {
  const int64_t items = d - half;  // per head
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t head = i / items, k = i % items;  // head indexes the (B, T, H) rows
    const T* xh = x + head * d;
    T* yh = y + head * d;
    if (k >= half) {
      const int64_t ch = 2 * half + (k - half);
      yh[ch] = xh[ch];
      continue;
    }
    const float angle = static_cast<float>(pos[head / h]) * inv_freq[k];
    const float cos_t = cosf(angle), sin_t = sign * sinf(angle);
    const int64_t ia = interleaved ? 2 * k : k;
    const int64_t ib = interleaved ? 2 * k + 1 : k + half;
    const float a = load(xh[ia]), b = load(xh[ib]);
    yh[ia] = store_as<T>(a * cos_t - b * sin_t);
    yh[ib] = store_as<T>(b * cos_t + a * sin_t);
  }
}

}  // namespace

void rope_rotate(const Tensor& x, const Tensor& position_ids, const Tensor& inv_freq,
                 bool interleaved, float direction, Tensor& y) {
  const int64_t heads = x.dim(0) * x.dim(1) * x.dim(2), h = x.dim(2), d = x.dim(3);
  const int64_t half = inv_freq.dim(0);
  const int64_t total = heads * (d - half);
  if (total == 0) return;
  const Context& ctx = context(x.device());
  with_storage(x.dtype(), "rope", [&](auto tag) {
    using T = decltype(tag);
    rope_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(
        data_as<T>(x), position_ids.data<int32_t>(), fptr(inv_freq), direction, interleaved,
        data_as<T>(y), total, h, d, half);
  });
  ME_CUDA_CHECK(cudaGetLastError());
}

}  // namespace me::cuda
