// One-pass LayerNorm / RMSNorm backward for rows whose width splits into 16-byte packs, up to
// kNormMaxPacks packs per lane (2048 bf16 columns): each warp computes dx for its rows (adding the
// residual branch's gradient when given) while its lanes keep the dweight / dbias column partials
// in registers; the warps of a block add their partials in warp order, each block writes one
// partial row, and column_finish_kernel adds the blocks' rows in block order. dy and x are read
// once (the unfused path read them four times), and the order of every sum depends only on N and
// C, so the result is deterministic.
#pragma once

#include <cstdint>

#include "kernels/cuda/column_sum.cuh"
#include "kernels/cuda/lane_reduce.cuh"
#include "kernels/cuda/storage.cuh"

namespace me::cuda {
namespace {

constexpr int kNormWarps = kThreads / 32;
constexpr int64_t kNormChunkRows = 64;  // rows per block: ~512 blocks for 32k rows
constexpr int kNormMaxPacks = 8;        // 16-byte packs per lane

// kCentered: LayerNorm (mean subtracted, a bias gradient); else RMSNorm. Lane l owns packs
// l, l + 32, ... of every row.
template <typename T, bool kCentered, int kPacks>
__global__ void __launch_bounds__(kThreads)
    norm_backward_kernel(const T* dy, const T* x, const T* weight, const float* mean,
                         const float* rstd, const T* residual_grad, T* dx, float* partial_dweight,
                         float* partial_dbias, int64_t n, int64_t c) {
  using P = Pack<T>;
  constexpr int kW = P::kSize;
  __shared__ float block_dweight[32 * kPacks * kW];
  __shared__ float block_dbias[kCentered ? 32 * kPacks * kW : 1];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t packs = c / kW;
  const int64_t first = blockIdx.x * kNormChunkRows;
  const int64_t last = min(n, first + kNormChunkRows);
  const P* w = reinterpret_cast<const P*>(weight);
  float acc_dweight[kPacks][kW], acc_dbias[kPacks][kW];
#pragma unroll
  for (int p = 0; p < kPacks; ++p) {
#pragma unroll
    for (int e = 0; e < kW; ++e) acc_dweight[p][e] = acc_dbias[p][e] = 0.0f;
  }
  const float inv_c = 1.0f / static_cast<float>(c);
  for (int64_t row = first + warp; row < last; row += kNormWarps) {
    const P* dyr = reinterpret_cast<const P*>(dy + row * c);
    const P* xr = reinterpret_cast<const P*>(x + row * c);
    const float m = kCentered ? mean[row] : 0.0f, s = rstd[row];
    float g_sum = 0.0f, g_xhat_sum = 0.0f;
#pragma unroll
    for (int p = 0; p < kPacks; ++p) {
      const int64_t k = lane + 32 * p;
      if (k < packs) {
        const P d = dyr[k], xv = xr[k], wv = w[k];
#pragma unroll
        for (int e = 0; e < kW; ++e) {
          const float de = load(d.v[e]), xhat = (load(xv.v[e]) - m) * s;
          const float g = load(wv.v[e]) * de;
          g_sum += g;
          g_xhat_sum += g * xhat;
          acc_dweight[p][e] += de * xhat;
          acc_dbias[p][e] += de;
        }
      }
    }
    const float g_mean = kCentered ? lane_sum(g_sum) * inv_c : 0.0f;
    const float g_xhat_mean = lane_sum(g_xhat_sum) * inv_c;
    P* dxr = reinterpret_cast<P*>(dx + row * c);
    const P* rr = residual_grad ? reinterpret_cast<const P*>(residual_grad + row * c) : nullptr;
#pragma unroll
    for (int p = 0; p < kPacks; ++p) {
      const int64_t k = lane + 32 * p;
      if (k < packs) {  // dy and x again: this warp just read them, so they come from L1
        const P d = dyr[k], xv = xr[k], wv = w[k];
        P r;
        if (rr) r = rr[k];
        P out;
#pragma unroll
        for (int e = 0; e < kW; ++e) {
          const float xhat = (load(xv.v[e]) - m) * s;
          float v = (load(wv.v[e]) * load(d.v[e]) - g_mean - xhat * g_xhat_mean) * s;
          if (rr) v += load(r.v[e]);
          out.v[e] = store_as<T>(v);
        }
        dxr[k] = out;
      }
    }
  }
  for (int wi = 0; wi < kNormWarps; ++wi) {
    if (warp == wi) {
#pragma unroll
      for (int p = 0; p < kPacks; ++p) {
#pragma unroll
        for (int e = 0; e < kW; ++e) {
          const int col = (lane + 32 * p) * kW + e;
          block_dweight[col] = (wi == 0 ? 0.0f : block_dweight[col]) + acc_dweight[p][e];
          if (kCentered) block_dbias[col] = (wi == 0 ? 0.0f : block_dbias[col]) + acc_dbias[p][e];
        }
      }
    }
    __syncthreads();
  }
  for (int64_t j = threadIdx.x; j < c; j += blockDim.x) {
    partial_dweight[blockIdx.x * c + j] = block_dweight[j];
    if (kCentered) partial_dbias[blockIdx.x * c + j] = block_dbias[j];
  }
}

// Runs the one-pass backward when the rows split into whole packs that fit (true), else returns
// false having done nothing. mean and dbias are null for RMSNorm; residual_grad may be null.
template <typename T, bool kCentered>
bool norm_backward_one_pass(const T* dy, const T* x, const T* weight, const float* mean,
                            const float* rstd, const T* residual_grad, T* dx, float* dweight,
                            float* dbias, int64_t n, int64_t c, Device device) {
  constexpr int kW = Pack<T>::kSize;
  if (c > 32 * kNormMaxPacks * kW || !packable<T>(c, dy, x, weight, dx) ||
      (residual_grad && !packable<T>(c, residual_grad))) {
    return false;
  }
  const Context& ctx = context(device);
  const int64_t blocks = (n + kNormChunkRows - 1) / kNormChunkRows;
  Tensor partial = Tensor::empty({kCentered ? 2 : 1, blocks, c}, DType::kF32, device);
  float* partial_dweight = fptr(partial);
  float* partial_dbias = kCentered ? partial_dweight + blocks * c : nullptr;
  auto launch = [&](auto kernel) {
    kernel<<<static_cast<unsigned>(blocks), kThreads, 0, ctx.stream>>>(
        dy, x, weight, mean, rstd, residual_grad, dx, partial_dweight, partial_dbias, n, c);
  };
  const int64_t packs_per_lane = (c / kW + 31) / 32;
  if (packs_per_lane <= 1) {
    launch(norm_backward_kernel<T, kCentered, 1>);
  } else if (packs_per_lane <= 2) {
    launch(norm_backward_kernel<T, kCentered, 2>);
  } else if (packs_per_lane <= 4) {
    launch(norm_backward_kernel<T, kCentered, 4>);
  } else {
    launch(norm_backward_kernel<T, kCentered, kNormMaxPacks>);
  }
  ME_CUDA_CHECK(cudaGetLastError());
  column_finish_kernel<<<grid_for(c), kThreads, 0, ctx.stream>>>(partial_dweight, blocks, c,
                                                                 dweight);
  if (kCentered) {
    column_finish_kernel<<<grid_for(c), kThreads, 0, ctx.stream>>>(partial_dbias, blocks, c, dbias);
  }
  ME_CUDA_CHECK(cudaGetLastError());
  return true;
}

}  // namespace
}  // namespace me::cuda
