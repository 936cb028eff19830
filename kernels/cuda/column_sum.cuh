// Deterministic column sums of an (N, C) expression without atomics, shared by bias_backward and
// the LayerNorm weight/bias gradients: rows are cut into fixed chunks; phase one sums each chunk
// of each column in a fixed order into a partial buffer, phase two adds the chunk partials in
// chunk order into the output. The partition depends only on N and C, never on the GPU.
#pragma once

#include <cstdint>

#include "kernels/cuda/cuda_context.h"

namespace me::cuda {
// Internal linkage: each including .cu file gets its own copy of these kernels, so no two
// translation units register one host stub.
namespace {

constexpr int kColumnTile = 32;  // columns per block (one warp wide)
constexpr int kRowLanes = 8;     // row strides per block
constexpr int64_t kChunkRows = 256;

// term(row, col) is the value summed; each block owns kColumnTile columns of one row chunk.
template <typename Term>
__global__ void column_partial_kernel(Term term, int64_t n, int64_t c, float* partial) {
  __shared__ float tile[kRowLanes][kColumnTile];
  const int64_t col = static_cast<int64_t>(blockIdx.x) * kColumnTile + threadIdx.x;
  const int64_t chunk = blockIdx.y;
  const int64_t row_end = min(n, (chunk + 1) * kChunkRows);
  float acc = 0.0f;
  if (col < c) {
    for (int64_t row = chunk * kChunkRows + threadIdx.y; row < row_end; row += kRowLanes) {
      acc += term(row, col);
    }
  }
  tile[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && col < c) {
    float sum = tile[0][threadIdx.x];
    for (int r = 1; r < kRowLanes; ++r) sum += tile[r][threadIdx.x];
    partial[chunk * c + col] = sum;
  }
}

__global__ void column_finish_kernel(const float* partial, int64_t chunks, int64_t c, float* out) {
  for (int64_t col = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; col < c;
       col += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float sum = 0.0f;
    for (int64_t ch = 0; ch < chunks; ++ch) sum += partial[ch * c + col];
    out[col] += sum;
  }
}

// out (C) += sum over rows of term(row, col), on `device`'s stream.
template <typename Term>
void column_sum_into(const Term& term, int64_t n, int64_t c, float* out, Device device) {
  if (n == 0 || c == 0) return;
  const Context& ctx = context(device);
  const int64_t chunks = (n + kChunkRows - 1) / kChunkRows;
  ME_CHECK(chunks <= 65535, "column sum over {} rows: too many chunks", n);
  Tensor partial = Tensor::empty({chunks, c}, DType::kF32, device);
  const dim3 grid(ceil_div(c, kColumnTile), static_cast<unsigned>(chunks));
  const dim3 block(kColumnTile, kRowLanes);
  column_partial_kernel<<<grid, block, 0, ctx.stream>>>(term, n, c, fptr(partial));
  ME_CUDA_CHECK(cudaGetLastError());
  column_finish_kernel<<<grid_for(c), kThreads, 0, ctx.stream>>>(fptr(partial), chunks, c, out);
  ME_CUDA_CHECK(cudaGetLastError());
}

}  // namespace
}  // namespace me::cuda
