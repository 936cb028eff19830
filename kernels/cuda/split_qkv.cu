// CUDA split of a fused QKV projection into q, k and v (and its backward): pure element copies
// between the per-group [q heads | k | v] row layout and the separate (B, T, H, D) tensors, 16
// bytes per thread where the head rows allow.
#include "kernels/cuda/attention.h"
#include "kernels/cuda/cuda_context.h"

namespace me::cuda {
namespace {

// Copies between the fused QKV row [q heads of group g | k_g | v_g]... and q, k, v, in chunks of
// E (16 bytes when a head row allows it): chunk idx of qkv is head row idx / chunks, part
// idx % chunks.
template <typename E, bool kBackward>
__global__ void split_qkv_kernel(E* qkv, E* q, E* k, E* v, int64_t tokens, int64_t hq, int64_t g,
                                 int64_t chunks) {
  const int64_t heads = hq / g;
  const int64_t rows_per_token = g * (heads + 2);
  const int64_t total = tokens * rows_per_token * chunks;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = idx / chunks, x = idx % chunks;
    const int64_t tok = row / rows_per_token, rem = row % rows_per_token;
    const int64_t gi = rem / (heads + 2), slot = rem % (heads + 2);
    E* part;
    if (slot < heads) {
      part = q + (tok * hq + gi * heads + slot) * chunks + x;
    } else {
      part = (slot == heads ? k : v) + (tok * g + gi) * chunks + x;
    }
    if (kBackward) {
      qkv[idx] = *part;
    } else {
      *part = qkv[idx];
    }
  }
}

template <bool kBackward>
void split_launch(const Tensor& qkv, const Tensor& q, const Tensor& k, const Tensor& v) {
  const int64_t tokens = q.dim(0) * q.dim(1), hq = q.dim(2), g = k.dim(2);
  if (qkv.numel() == 0) return;
  const Context& ctx = context(qkv.device());
  const int64_t row_bytes = q.dim(3) * static_cast<int64_t>(dtype_size(q.dtype()));
  auto aligned = [](const Tensor& t) {
    return reinterpret_cast<uintptr_t>(t.raw_data()) % 16 == 0;
  };
  auto run = [&](auto tag) {
    using E = decltype(tag);
    const int64_t chunks = row_bytes / static_cast<int64_t>(sizeof(E));
    split_qkv_kernel<E, kBackward><<<grid_for(qkv.nbytes() / sizeof(E)), kThreads, 0, ctx.stream>>>(
        static_cast<E*>(qkv.raw_data()), static_cast<E*>(q.raw_data()),
        static_cast<E*>(k.raw_data()), static_cast<E*>(v.raw_data()), tokens, hq, g, chunks);
  };
  if (row_bytes % 16 == 0 && aligned(qkv) && aligned(q) && aligned(k) && aligned(v)) {
    run(uint4{});
  } else if (row_bytes % 4 == 0) {
    run(uint32_t{});
  } else {
    run(uint16_t{});  // every dtype is at least 2 bytes wide
  }
  ME_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void split_qkv_forward(const Tensor& qkv, Tensor& q, Tensor& k, Tensor& v) {
  split_launch<false>(qkv, q, k, v);
}

void split_qkv_backward(const Tensor& dq, const Tensor& dk, const Tensor& dv, Tensor& dqkv) {
  split_launch<true>(dqkv, dq, dk, dv);
}

}  // namespace me::cuda
