// CUDA RMSNorm: a warp per row for y and dx (butterfly shuffles, so every lane holds the same sums
// and the order is fixed). Backward is one pass (norm_backward.cuh) for rows of whole 16-byte packs
// up to 2048 bf16 columns, else dx by row and dweight by the deterministic column sums of
// column_sum.cuh. Same formulas as the CPU reference: rstd = 1/sqrt(mean(x^2) + eps),
// y = x * rstd * weight.
#include "kernels/cuda/column_sum.cuh"
#include "kernels/cuda/lane_reduce.cuh"
#include "kernels/cuda/norm_backward.cuh"
#include "kernels/cuda/rmsnorm.h"
#include "kernels/cuda/storage.cuh"
#include "kernels/elementwise.h"

namespace me::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kRowsPerBlock = kThreads / kWarp;

// With a residual, the normalised row is x + residual rounded to T (what add() stores), and the
// first pass writes it to `added`.
template <typename T>
__global__ void rmsnorm_forward_kernel(const T* x, const T* residual, const T* weight, float eps,
                                       T* added, T* y, float* rstd, int64_t n, int64_t c) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= n) return;
  const T* xr = x + row * c;
  const T* rr = residual ? residual + row * c : nullptr;
  auto input = [&](int64_t j) {
    return rr ? load(store_as<T>(load(xr[j]) + load(rr[j]))) : load(xr[j]);
  };
  float sq = 0.0f;
  for (int64_t j = lane; j < c; j += kWarp) {
    const float v = input(j);
    if (rr) added[row * c + j] = store_as<T>(v);
    sq += v * v;
  }
  const float s = 1.0f / sqrtf(lane_sum(sq) / static_cast<float>(c) + eps);
  T* yr = y + row * c;
  for (int64_t j = lane; j < c; j += kWarp) yr[j] = store_as<T>(input(j) * s * load(weight[j]));
  if (lane == 0) rstd[row] = s;
}

// With xhat = x * rstd and g = weight * dy: dx = rstd * (g - xhat * mean(g * xhat)).
template <typename T>
__global__ void rmsnorm_dx_kernel(const T* dy, const T* x, const T* weight, const float* rstd,
                                  T* dx, int64_t n, int64_t c) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= n) return;
  const T* dyr = dy + row * c;
  const T* xr = x + row * c;
  const float s = rstd[row];
  float g_xhat_sum = 0.0f;
  for (int64_t j = lane; j < c; j += kWarp) {
    g_xhat_sum += load(weight[j]) * load(dyr[j]) * load(xr[j]) * s;
  }
  const float g_xhat_mean = lane_sum(g_xhat_sum) / static_cast<float>(c);
  T* dxr = dx + row * c;
  for (int64_t j = lane; j < c; j += kWarp) {
    dxr[j] = store_as<T>((load(weight[j]) * load(dyr[j]) - load(xr[j]) * s * g_xhat_mean) * s);
  }
}

template <typename T>
struct WeightGradTerm {  // dy * xhat
  const T* dy;
  const T* x;
  const float* rstd;
  int64_t c;
  __device__ float operator()(int64_t row, int64_t col) const {
    return load(dy[row * c + col]) * load(x[row * c + col]) * rstd[row];
  }
};

}  // namespace

void rmsnorm_forward(const Tensor& x, const Tensor& residual, const Tensor& weight, double eps,
                     Tensor& added, Tensor& y, Tensor& rstd) {
  const int64_t c = x.dim(-1);
  const int64_t n = c == 0 ? 0 : x.numel() / c;
  if (n == 0) return;
  const Context& ctx = context(x.device());
  with_storage(x.dtype(), "rmsnorm_forward", [&](auto tag) {
    using T = decltype(tag);
    const bool add = residual.defined();
    rmsnorm_forward_kernel<<<ceil_div(n, kRowsPerBlock), kThreads, 0, ctx.stream>>>(
        data_as<T>(x), add ? data_as<T>(residual) : nullptr, data_as<T>(weight),
        static_cast<float>(eps), add ? data_as<T>(added) : nullptr, data_as<T>(y), fptr(rstd), n,
        c);
  });
  ME_CUDA_CHECK(cudaGetLastError());
}

void rmsnorm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& rstd,
                      const Tensor& residual_grad, Tensor& dx, Tensor& dweight) {
  const int64_t c = x.dim(-1);
  const int64_t n = c == 0 ? 0 : x.numel() / c;
  if (n == 0) return;
  const Context& ctx = context(x.device());
  with_storage(x.dtype(), "rmsnorm_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* residual = residual_grad.defined() ? data_as<T>(residual_grad) : nullptr;
    if (norm_backward_one_pass<T, false>(data_as<T>(dy), data_as<T>(x), data_as<T>(weight), nullptr,
                                         fptr(rstd), residual, data_as<T>(dx), fptr(dweight),
                                         nullptr, n, c, x.device())) {
      return;
    }
    rmsnorm_dx_kernel<<<ceil_div(n, kRowsPerBlock), kThreads, 0, ctx.stream>>>(
        data_as<T>(dy), data_as<T>(x), data_as<T>(weight), fptr(rstd), data_as<T>(dx), n, c);
    ME_CUDA_CHECK(cudaGetLastError());
    column_sum_into(WeightGradTerm<T>{data_as<T>(dy), data_as<T>(x), fptr(rstd), c}, n, c,
                    fptr(dweight), x.device());
    if (residual) me::add_into(dx, residual_grad);
  });
}

}  // namespace me::cuda
