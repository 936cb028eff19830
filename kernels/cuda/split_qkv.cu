// CUDA split of a fused QKV projection into q, k and v (and its backward): pure element copies
// between the per-group [q heads | k | v] row layout and the separate (B, T, H, D) tensors.
#include "kernels/cuda/attention.h"
#include "kernels/cuda/cuda_context.h"

namespace me::cuda {
namespace {

// Element copies between the fused QKV row [q heads of group g | k_g | v_g]... and q, k, v.
template <typename E, bool kBackward>
__global__ void split_qkv_kernel(E* qkv, E* q, E* k, E* v, int64_t tokens, int64_t hq, int64_t g,
                                 int64_t d) {
  const int64_t per_group = (hq / g + 2) * d;
  const int64_t total = tokens * g * per_group;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t tok = idx / (g * per_group), rem = idx % (g * per_group);
    const int64_t gi = rem / per_group, slot = (rem % per_group) / d, x = rem % d;
    const int64_t heads = hq / g;
    E* part;
    if (slot < heads) {
      part = q + (tok * hq + gi * heads + slot) * d + x;
    } else {
      part = (slot == heads ? k : v) + (tok * g + gi) * d + x;
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
  const int64_t tokens = q.dim(0) * q.dim(1), hq = q.dim(2), g = k.dim(2), d = q.dim(3);
  if (qkv.numel() == 0) return;
  const Context& ctx = context(qkv.device());
  const unsigned grid = grid_for(qkv.numel());
  auto run = [&](auto tag) {
    using E = decltype(tag);
    split_qkv_kernel<E, kBackward><<<grid, kThreads, 0, ctx.stream>>>(
        static_cast<E*>(qkv.raw_data()), static_cast<E*>(q.raw_data()),
        static_cast<E*>(k.raw_data()), static_cast<E*>(v.raw_data()), tokens, hq, g, d);
  };
  switch (dtype_size(q.dtype())) {
    case 2:
      run(uint16_t{});
      break;
    case 4:
      run(uint32_t{});
      break;
    case 8:
      run(uint64_t{});
      break;
    default:
      ME_CHECK(false, "split_qkv: element size of {}", dtype_name(q.dtype()));
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
