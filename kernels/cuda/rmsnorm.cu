// CUDA RMSNorm: a warp per row for y and dx (butterfly shuffles, so every lane holds the same sums
// and the order is fixed); dweight by the deterministic column sums of column_sum.cuh. Same
// formulas as the CPU reference: rstd = 1/sqrt(mean(x^2) + eps), y = x * rstd * weight.
#include "kernels/cuda/column_sum.cuh"
#include "kernels/cuda/lane_reduce.cuh"
#include "kernels/cuda/rmsnorm.h"

namespace me::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kRowsPerBlock = kThreads / kWarp;

__global__ void rmsnorm_forward_kernel(const float* x, const float* weight, float eps, float* y,
                                       float* rstd, int64_t n, int64_t c) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= n) return;
  const float* xr = x + row * c;
  float sq = 0.0f;
  for (int64_t j = lane; j < c; j += kWarp) sq += xr[j] * xr[j];
  const float s = 1.0f / sqrtf(lane_sum(sq) / static_cast<float>(c) + eps);
  float* yr = y + row * c;
  for (int64_t j = lane; j < c; j += kWarp) yr[j] = xr[j] * s * weight[j];
  if (lane == 0) rstd[row] = s;
}

// With xhat = x * rstd and g = weight * dy: dx = rstd * (g - xhat * mean(g * xhat)).
__global__ void rmsnorm_dx_kernel(const float* dy, const float* x, const float* weight,
                                  const float* rstd, float* dx, int64_t n, int64_t c) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= n) return;
  const float* dyr = dy + row * c;
  const float* xr = x + row * c;
  const float s = rstd[row];
  float g_xhat_sum = 0.0f;
  for (int64_t j = lane; j < c; j += kWarp) g_xhat_sum += weight[j] * dyr[j] * xr[j] * s;
  const float g_xhat_mean = lane_sum(g_xhat_sum) / static_cast<float>(c);
  float* dxr = dx + row * c;
  for (int64_t j = lane; j < c; j += kWarp) {
    dxr[j] = (weight[j] * dyr[j] - xr[j] * s * g_xhat_mean) * s;
  }
}

struct WeightGradTerm {  // dy * xhat
  const float* dy;
  const float* x;
  const float* rstd;
  int64_t c;
  __device__ float operator()(int64_t row, int64_t col) const {
    return dy[row * c + col] * x[row * c + col] * rstd[row];
  }
};

}  // namespace

void rmsnorm_forward(const Tensor& x, const Tensor& weight, double eps, Tensor& y, Tensor& rstd) {
  require_f32("rmsnorm_forward", "x", x);
  const int64_t c = x.dim(-1);
  const int64_t n = c == 0 ? 0 : x.numel() / c;
  if (n == 0) return;
  const Context& ctx = context(x.device());
  rmsnorm_forward_kernel<<<ceil_div(n, kRowsPerBlock), kThreads, 0, ctx.stream>>>(
      fptr(x), fptr(weight), static_cast<float>(eps), fptr(y), fptr(rstd), n, c);
  ME_CUDA_CHECK(cudaGetLastError());
}

void rmsnorm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& rstd,
                      Tensor& dx, Tensor& dweight) {
  require_f32("rmsnorm_backward", "x", x);
  const int64_t c = x.dim(-1);
  const int64_t n = c == 0 ? 0 : x.numel() / c;
  if (n == 0) return;
  const Context& ctx = context(x.device());
  rmsnorm_dx_kernel<<<ceil_div(n, kRowsPerBlock), kThreads, 0, ctx.stream>>>(
      fptr(dy), fptr(x), fptr(weight), fptr(rstd), fptr(dx), n, c);
  ME_CUDA_CHECK(cudaGetLastError());
  column_sum_into(WeightGradTerm{fptr(dy), fptr(x), fptr(rstd), c}, n, c, fptr(dweight),
                  x.device());
}

}  // namespace me::cuda
