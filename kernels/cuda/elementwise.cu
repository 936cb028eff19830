// CUDA element-wise ops (grid-stride loops) and reductions with a fixed partition and order:
// bias_backward by column chunks, sum_of_squares in f64 by a fixed grid then one block.
#include <cmath>

#include "kernels/cuda/column_sum.cuh"
#include "kernels/cuda/elementwise.h"

namespace me::cuda {
namespace {

constexpr int kReduceBlocks = 1024;  // sum_of_squares partials: fixed, so the order is fixed

#define ME_GRID_STRIDE(i, n)                                                             \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

__global__ void add_bias_kernel(float* y, const float* bias, int64_t total, int64_t c) {
  ME_GRID_STRIDE(i, total) y[i] += bias[i % c];
}

__global__ void add_kernel(const float* a, const float* b, float* out, int64_t n) {
  ME_GRID_STRIDE(i, n) out[i] = a[i] + b[i];
}

__global__ void add_into_kernel(float* out, const float* a, int64_t n) {
  ME_GRID_STRIDE(i, n) out[i] += a[i];
}

__global__ void scale_kernel(float* x, float alpha, int64_t n) {
  ME_GRID_STRIDE(i, n) x[i] *= alpha;
}

__global__ void fill_kernel(float* x, float value, int64_t n) { ME_GRID_STRIDE(i, n) x[i] = value; }

// Tree reduction of one value per thread in shared memory (fixed pairing), result in thread 0.
__device__ double block_sum(double v, double* shared) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) shared[threadIdx.x] += shared[threadIdx.x + stride];
    __syncthreads();
  }
  return shared[0];
}

__global__ void sum_of_squares_partial_kernel(const float* x, int64_t n, double* partial) {
  __shared__ double shared[kThreads];
  double acc = 0.0;
  ME_GRID_STRIDE(i, n) {
    const double v = static_cast<double>(x[i]);
    acc += v * v;
  }
  const double total = block_sum(acc, shared);
  if (threadIdx.x == 0) partial[blockIdx.x] = total;
}

__global__ void sum_partials_kernel(const double* partial, int count, double* out) {
  __shared__ double shared[kThreads];
  double acc = 0.0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partial[i];
  const double total = block_sum(acc, shared);
  if (threadIdx.x == 0) *out = total;
}

__global__ void all_finite_kernel(const float* x, int64_t n, int* non_finite) {
  ME_GRID_STRIDE(i, n) {
    if (!isfinite(x[i])) *non_finite = 1;  // every writer stores the same value
  }
}

struct BiasTerm {
  const float* dy;
  int64_t c;
  __device__ float operator()(int64_t row, int64_t col) const { return dy[row * c + col]; }
};

}  // namespace

void add_bias(Tensor& y, const Tensor& bias) {
  require_f32("add_bias", "y", y);
  const int64_t total = y.numel(), c = y.dim(-1);
  if (total == 0) return;
  const Context& ctx = context(y.device());
  add_bias_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(fptr(y), fptr(bias), total, c);
  ME_CUDA_CHECK(cudaGetLastError());
}

void bias_backward(const Tensor& dy, Tensor& dbias) {
  require_f32("bias_backward", "dy", dy);
  const int64_t c = dy.dim(-1);
  const int64_t n = c == 0 ? 0 : dy.numel() / c;
  column_sum_into(BiasTerm{fptr(dy), c}, n, c, fptr(dbias), dy.device());
}

void add(const Tensor& a, const Tensor& b, Tensor& out) {
  require_f32("add", "a", a);
  const int64_t n = a.numel();
  if (n == 0) return;
  const Context& ctx = context(a.device());
  add_kernel<<<grid_for(n), kThreads, 0, ctx.stream>>>(fptr(a), fptr(b), fptr(out), n);
  ME_CUDA_CHECK(cudaGetLastError());
}

void add_into(Tensor& out, const Tensor& a) {
  require_f32("add_into", "out", out);
  const int64_t n = a.numel();
  if (n == 0) return;
  const Context& ctx = context(out.device());
  add_into_kernel<<<grid_for(n), kThreads, 0, ctx.stream>>>(fptr(out), fptr(a), n);
  ME_CUDA_CHECK(cudaGetLastError());
}

void scale(Tensor& x, double alpha) {
  require_f32("scale", "x", x);
  const int64_t n = x.numel();
  if (n == 0) return;
  const Context& ctx = context(x.device());
  scale_kernel<<<grid_for(n), kThreads, 0, ctx.stream>>>(fptr(x), static_cast<float>(alpha), n);
  ME_CUDA_CHECK(cudaGetLastError());
}

void fill(Tensor& x, double value) {
  require_f32("fill", "x", x);
  const int64_t n = x.numel();
  if (n == 0) return;
  const Context& ctx = context(x.device());
  fill_kernel<<<grid_for(n), kThreads, 0, ctx.stream>>>(fptr(x), static_cast<float>(value), n);
  ME_CUDA_CHECK(cudaGetLastError());
}

double sum_of_squares(const Tensor& x) {
  require_f32("sum_of_squares", "x", x);
  const int64_t n = x.numel();
  if (n == 0) return 0.0;
  const Context& ctx = context(x.device());
  const int blocks =
      static_cast<int>(std::min<int64_t>(kReduceBlocks, (n + kThreads - 1) / kThreads));
  Tensor partial = Tensor::empty({blocks + 1}, DType::kF64, x.device());
  double* p = partial.data<double>();
  sum_of_squares_partial_kernel<<<blocks, kThreads, 0, ctx.stream>>>(fptr(x), n, p);
  ME_CUDA_CHECK(cudaGetLastError());
  sum_partials_kernel<<<1, kThreads, 0, ctx.stream>>>(p, blocks, p + blocks);
  ME_CUDA_CHECK(cudaGetLastError());
  double total = 0.0;
  ME_CUDA_CHECK(cudaMemcpy(&total, p + blocks, sizeof(double), cudaMemcpyDeviceToHost));
  return total;
}

bool all_finite(const Tensor& x) {
  require_f32("all_finite", "x", x);
  const int64_t n = x.numel();
  if (n == 0) return true;
  const Context& ctx = context(x.device());
  Tensor flag = Tensor::zeros({1}, DType::kI32, x.device());
  all_finite_kernel<<<grid_for(n), kThreads, 0, ctx.stream>>>(fptr(x), n, flag.data<int32_t>());
  ME_CUDA_CHECK(cudaGetLastError());
  int non_finite = 0;
  ME_CUDA_CHECK(cudaMemcpy(&non_finite, flag.data<int32_t>(), sizeof(int), cudaMemcpyDeviceToHost));
  return non_finite == 0;
}

}  // namespace me::cuda
