// CUDA LayerNorm: a warp per row for y and dx (butterfly shuffles, so every lane holds the same
// sums and the order is fixed); dweight and dbias by the deterministic column sums of
// column_sum.cuh. Same formulas as the CPU reference (biased variance, two-pass mean/variance).
#include "kernels/cuda/column_sum.cuh"
#include "kernels/cuda/lane_reduce.cuh"
#include "kernels/cuda/layernorm.h"

namespace me::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kRowsPerBlock = kThreads / kWarp;

__global__ void layernorm_forward_kernel(const float* x, const float* weight, const float* bias,
                                         float eps, float* y, float* mean, float* rstd, int64_t n,
                                         int64_t c) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= n) return;
  const float* xr = x + row * c;
  float sum = 0.0f;
  for (int64_t j = lane; j < c; j += kWarp) sum += xr[j];
  const float m = lane_sum(sum) / static_cast<float>(c);
  float var = 0.0f;
  for (int64_t j = lane; j < c; j += kWarp) var += (xr[j] - m) * (xr[j] - m);
  const float s = 1.0f / sqrtf(lane_sum(var) / static_cast<float>(c) + eps);
  float* yr = y + row * c;
  for (int64_t j = lane; j < c; j += kWarp) yr[j] = (xr[j] - m) * s * weight[j] + bias[j];
  if (lane == 0) {
    mean[row] = m;
    rstd[row] = s;
  }
}

// dx = rstd * (dnorm - mean(dnorm) - xhat * mean(dnorm * xhat)), dnorm = weight * dy.
__global__ void layernorm_dx_kernel(const float* dy, const float* x, const float* weight,
                                    const float* mean, const float* rstd, float* dx, int64_t n,
                                    int64_t c) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= n) return;
  const float* dyr = dy + row * c;
  const float* xr = x + row * c;
  const float m = mean[row], s = rstd[row];
  float dnorm_sum = 0.0f, dnorm_xhat_sum = 0.0f;
  for (int64_t j = lane; j < c; j += kWarp) {
    const float dnorm = weight[j] * dyr[j];
    dnorm_sum += dnorm;
    dnorm_xhat_sum += dnorm * (xr[j] - m) * s;
  }
  const float dnorm_mean = lane_sum(dnorm_sum) / static_cast<float>(c);
  const float dnorm_xhat_mean = lane_sum(dnorm_xhat_sum) / static_cast<float>(c);
  float* dxr = dx + row * c;
  for (int64_t j = lane; j < c; j += kWarp) {
    const float xhat = (xr[j] - m) * s;
    dxr[j] = (weight[j] * dyr[j] - dnorm_mean - xhat * dnorm_xhat_mean) * s;
  }
}

struct WeightGradTerm {  // dy * xhat
  const float* dy;
  const float* x;
  const float* mean;
  const float* rstd;
  int64_t c;
  __device__ float operator()(int64_t row, int64_t col) const {
    return dy[row * c + col] * (x[row * c + col] - mean[row]) * rstd[row];
  }
};

struct BiasGradTerm {  // dy
  const float* dy;
  int64_t c;
  __device__ float operator()(int64_t row, int64_t col) const { return dy[row * c + col]; }
};

}  // namespace

void layernorm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                       Tensor& y, Tensor& mean, Tensor& rstd) {
  require_f32("layernorm_forward", "x", x);
  const int64_t c = x.dim(-1);
  const int64_t n = c == 0 ? 0 : x.numel() / c;
  if (n == 0) return;
  const Context& ctx = context(x.device());
  layernorm_forward_kernel<<<ceil_div(n, kRowsPerBlock), kThreads, 0, ctx.stream>>>(
      fptr(x), fptr(weight), fptr(bias), static_cast<float>(eps), fptr(y), fptr(mean), fptr(rstd),
      n, c);
  ME_CUDA_CHECK(cudaGetLastError());
}

void layernorm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                        const Tensor& rstd, Tensor& dx, Tensor& dweight, Tensor& dbias) {
  require_f32("layernorm_backward", "x", x);
  const int64_t c = x.dim(-1);
  const int64_t n = c == 0 ? 0 : x.numel() / c;
  if (n == 0) return;
  const Context& ctx = context(x.device());
  layernorm_dx_kernel<<<ceil_div(n, kRowsPerBlock), kThreads, 0, ctx.stream>>>(
      fptr(dy), fptr(x), fptr(weight), fptr(mean), fptr(rstd), fptr(dx), n, c);
  ME_CUDA_CHECK(cudaGetLastError());
  column_sum_into(WeightGradTerm{fptr(dy), fptr(x), fptr(mean), fptr(rstd), c}, n, c, fptr(dweight),
                  x.device());
  column_sum_into(BiasGradTerm{fptr(dy), c}, n, c, fptr(dbias), x.device());
}

}  // namespace me::cuda
