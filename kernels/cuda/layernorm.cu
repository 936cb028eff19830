// CUDA LayerNorm: a warp per row for y and dx (butterfly shuffles, so every lane holds the same
// sums and the order is fixed). Backward is one pass (norm_backward.cuh) for rows of whole 16-byte
// packs up to 2048 bf16 columns, else dx by row and dweight / dbias by the deterministic column
// sums of column_sum.cuh. Same formulas as the CPU reference (biased variance, two-pass
// mean/variance).
#include "kernels/cuda/column_sum.cuh"
#include "kernels/cuda/lane_reduce.cuh"
#include "kernels/cuda/layernorm.h"
#include "kernels/cuda/norm_backward.cuh"
#include "kernels/cuda/storage.cuh"
#include "kernels/elementwise.h"

namespace me::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kRowsPerBlock = kThreads / kWarp;

// With a residual, the normalised row is x + residual rounded to T (what add() stores), and the
// first pass writes it to `added`.
template <typename T>
__global__ void layernorm_forward_kernel(const T* x, const T* residual, const T* weight,
                                         const T* bias, float eps, T* added, T* y, float* mean,
                                         float* rstd, int64_t n, int64_t c) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= n) return;
  const T* xr = x + row * c;
  const T* rr = residual ? residual + row * c : nullptr;
  auto input = [&](int64_t j) {
    return rr ? load(store_as<T>(load(xr[j]) + load(rr[j]))) : load(xr[j]);
  };
  float sum = 0.0f;
  for (int64_t j = lane; j < c; j += kWarp) {
    const float v = input(j);
    if (rr) added[row * c + j] = store_as<T>(v);
    sum += v;
  }
  const float m = lane_sum(sum) / static_cast<float>(c);
  float var = 0.0f;
  for (int64_t j = lane; j < c; j += kWarp) var += (input(j) - m) * (input(j) - m);
  const float s = 1.0f / sqrtf(lane_sum(var) / static_cast<float>(c) + eps);
  T* yr = y + row * c;
  for (int64_t j = lane; j < c; j += kWarp) {
    yr[j] = store_as<T>((input(j) - m) * s * load(weight[j]) + load(bias[j]));
  }
  if (lane == 0) {
    mean[row] = m;
    rstd[row] = s;
  }
}

// dx = rstd * (dnorm - mean(dnorm) - xhat * mean(dnorm * xhat)), dnorm = weight * dy.
template <typename T>
__global__ void layernorm_dx_kernel(const T* dy, const T* x, const T* weight, const float* mean,
                                    const float* rstd, T* dx, int64_t n, int64_t c) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= n) return;
  const T* dyr = dy + row * c;
  const T* xr = x + row * c;
  const float m = mean[row], s = rstd[row];
  float dnorm_sum = 0.0f, dnorm_xhat_sum = 0.0f;
  for (int64_t j = lane; j < c; j += kWarp) {
    const float dnorm = load(weight[j]) * load(dyr[j]);
    dnorm_sum += dnorm;
    dnorm_xhat_sum += dnorm * (load(xr[j]) - m) * s;
  }
  const float dnorm_mean = lane_sum(dnorm_sum) / static_cast<float>(c);
  const float dnorm_xhat_mean = lane_sum(dnorm_xhat_sum) / static_cast<float>(c);
  T* dxr = dx + row * c;
  for (int64_t j = lane; j < c; j += kWarp) {
    const float xhat = (load(xr[j]) - m) * s;
    dxr[j] =
        store_as<T>((load(weight[j]) * load(dyr[j]) - dnorm_mean - xhat * dnorm_xhat_mean) * s);
  }
}

template <typename T>
struct WeightGradTerm {  // dy * xhat
  const T* dy;
  const T* x;
  const float* mean;
  const float* rstd;
  int64_t c;
  __device__ float operator()(int64_t row, int64_t col) const {
    return load(dy[row * c + col]) * (load(x[row * c + col]) - mean[row]) * rstd[row];
  }
};

template <typename T>
struct BiasGradTerm {  // dy
  const T* dy;
  int64_t c;
  __device__ float operator()(int64_t row, int64_t col) const { return load(dy[row * c + col]); }
};

}  // namespace

void layernorm_forward(const Tensor& x, const Tensor& residual, const Tensor& weight,
                       const Tensor& bias, double eps, Tensor& added, Tensor& y, Tensor& mean,
                       Tensor& rstd) {
  const int64_t c = x.dim(-1);
  const int64_t n = c == 0 ? 0 : x.numel() / c;
  if (n == 0) return;
  const Context& ctx = context(x.device());
  with_storage(x.dtype(), "layernorm_forward", [&](auto tag) {
    using T = decltype(tag);
    const bool add = residual.defined();
    layernorm_forward_kernel<<<ceil_div(n, kRowsPerBlock), kThreads, 0, ctx.stream>>>(
        data_as<T>(x), add ? data_as<T>(residual) : nullptr, data_as<T>(weight), data_as<T>(bias),
        static_cast<float>(eps), add ? data_as<T>(added) : nullptr, data_as<T>(y), fptr(mean),
        fptr(rstd), n, c);
  });
  ME_CUDA_CHECK(cudaGetLastError());
}

void layernorm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                        const Tensor& rstd, const Tensor& residual_grad, Tensor& dx,
                        Tensor& dweight, Tensor& dbias) {
  const int64_t c = x.dim(-1);
  const int64_t n = c == 0 ? 0 : x.numel() / c;
  if (n == 0) return;
  const Context& ctx = context(x.device());
  with_storage(x.dtype(), "layernorm_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* residual = residual_grad.defined() ? data_as<T>(residual_grad) : nullptr;
    if (norm_backward_one_pass<T, true>(data_as<T>(dy), data_as<T>(x), data_as<T>(weight),
                                        fptr(mean), fptr(rstd), residual, data_as<T>(dx),
                                        fptr(dweight), fptr(dbias), n, c, x.device())) {
      return;
    }
    layernorm_dx_kernel<<<ceil_div(n, kRowsPerBlock), kThreads, 0, ctx.stream>>>(
        data_as<T>(dy), data_as<T>(x), data_as<T>(weight), fptr(mean), fptr(rstd), data_as<T>(dx),
        n, c);
    ME_CUDA_CHECK(cudaGetLastError());
    column_sum_into(WeightGradTerm<T>{data_as<T>(dy), data_as<T>(x), fptr(mean), fptr(rstd), c}, n,
                    c, fptr(dweight), x.device());
    column_sum_into(BiasGradTerm<T>{data_as<T>(dy), c}, n, c, fptr(dbias), x.device());
    if (residual) me::add_into(dx, residual_grad);
  });
}

}  // namespace me::cuda
