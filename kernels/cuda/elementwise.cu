// CUDA element-wise ops (grid-stride loops over f32/bf16/f16 storage, f32 arithmetic) and
// reductions with a fixed partition and order: bias_backward by column chunks, sum_of_squares in
// f64 by a fixed grid then one block.
#include <cmath>

#include "kernels/cuda/column_sum.cuh"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/storage.cuh"

namespace me::cuda {
namespace {

constexpr int kReduceBlocks = 1024;  // sum_of_squares partials: fixed, so the order is fixed

#define ME_GRID_STRIDE(i, n)                                                             \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

template <typename T>
__global__ void add_bias_kernel(T* y, const T* bias, int64_t total, int64_t c) {
  ME_GRID_STRIDE(i, total) y[i] = store_as<T>(load(y[i]) + load(bias[i % c]));
}

template <typename T>
__global__ void add_kernel(const T* a, const T* b, T* out, int64_t n) {
  ME_GRID_STRIDE(i, n) out[i] = store_as<T>(load(a[i]) + load(b[i]));
}

// add_bias and add over whole packs: n / kSize pack indices, bias rows a whole number of packs.
template <typename T>
__global__ void add_bias_packed_kernel(Pack<T>* y, const Pack<T>* bias, int64_t packs,
                                       int64_t row_packs) {
  ME_GRID_STRIDE(i, packs) {
    Pack<T> p = y[i];
    const Pack<T> b = bias[i % row_packs];
#pragma unroll
    for (int j = 0; j < Pack<T>::kSize; ++j) p.v[j] = store_as<T>(load(p.v[j]) + load(b.v[j]));
    y[i] = p;
  }
}

template <typename T>
__global__ void add_packed_kernel(const Pack<T>* a, const Pack<T>* b, Pack<T>* out, int64_t packs) {
  ME_GRID_STRIDE(i, packs) {
    const Pack<T> x = a[i], z = b[i];
    Pack<T> p;
#pragma unroll
    for (int j = 0; j < Pack<T>::kSize; ++j) p.v[j] = store_as<T>(load(x.v[j]) + load(z.v[j]));
    out[i] = p;
  }
}

template <typename T>
__global__ void add_into_kernel(T* out, const T* a, int64_t n) {
  ME_GRID_STRIDE(i, n) out[i] = store_as<T>(load(out[i]) + load(a[i]));
}

template <typename T>
__global__ void scale_kernel(T* x, float alpha, int64_t n) {
  ME_GRID_STRIDE(i, n) x[i] = store_as<T>(load(x[i]) * alpha);
}

template <typename T>
__global__ void fill_kernel(T* x, float value, int64_t n) {
  const T v = store_as<T>(value);
  ME_GRID_STRIDE(i, n) x[i] = v;
}

template <typename From, typename To>
__global__ void cast_kernel(const From* src, To* dst, int64_t n) {
  ME_GRID_STRIDE(i, n) dst[i] = store_as<To>(load(src[i]));
}

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

template <typename T>
__global__ void sum_of_squares_partial_kernel(const T* x, int64_t n, double* partial) {
  __shared__ double shared[kThreads];
  double acc = 0.0;
  ME_GRID_STRIDE(i, n) {
    const double v = static_cast<double>(load(x[i]));
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

template <typename T>
__global__ void all_finite_kernel(const T* x, int64_t n, int* non_finite) {
  ME_GRID_STRIDE(i, n) {
    if (!isfinite(load(x[i]))) *non_finite = 1;  // every writer stores the same value
  }
}

template <typename T>
struct BiasTerm {
  const T* dy;
  int64_t c;
  __device__ float operator()(int64_t row, int64_t col) const { return load(dy[row * c + col]); }
};

}  // namespace

void add_bias(Tensor& y, const Tensor& bias) {
  const int64_t total = y.numel(), c = y.dim(-1);
  if (total == 0) return;
  const Context& ctx = context(y.device());
  with_storage(y.dtype(), "add_bias", [&](auto tag) {
    using T = decltype(tag);
    T* yp = data_as<T>(y);
    const T* bp = data_as<T>(bias);
    if (packable<T>(c, yp, bp)) {
      const int64_t k = Pack<T>::kSize;
      add_bias_packed_kernel<<<grid_for(total / k), kThreads, 0, ctx.stream>>>(
          reinterpret_cast<Pack<T>*>(yp), reinterpret_cast<const Pack<T>*>(bp), total / k, c / k);
    } else {
      add_bias_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(yp, bp, total, c);
    }
  });
  ME_CUDA_CHECK(cudaGetLastError());
}

void bias_backward(const Tensor& dy, Tensor& dbias) {
  const int64_t c = dy.dim(-1);
  const int64_t n = c == 0 ? 0 : dy.numel() / c;
  with_storage(dy.dtype(), "bias_backward", [&](auto tag) {
    using T = decltype(tag);
    column_sum_into(BiasTerm<T>{data_as<T>(dy), c}, n, c, fptr(dbias), dy.device());
  });
}

void add(const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t n = a.numel();
  if (n == 0) return;
  const Context& ctx = context(a.device());
  with_storage(a.dtype(), "add", [&](auto tag) {
    using T = decltype(tag);
    const T *ap = data_as<T>(a), *bp = data_as<T>(b);
    T* op = data_as<T>(out);
    if (packable<T>(n, ap, bp, op)) {
      const int64_t k = Pack<T>::kSize;
      add_packed_kernel<<<grid_for(n / k), kThreads, 0, ctx.stream>>>(
          reinterpret_cast<const Pack<T>*>(ap), reinterpret_cast<const Pack<T>*>(bp),
          reinterpret_cast<Pack<T>*>(op), n / k);
    } else {
      add_kernel<<<grid_for(n), kThreads, 0, ctx.stream>>>(ap, bp, op, n);
    }
  });
  ME_CUDA_CHECK(cudaGetLastError());
}

void add_into(Tensor& out, const Tensor& a) {
  const int64_t n = a.numel();
  if (n == 0) return;
  const Context& ctx = context(out.device());
  with_storage(out.dtype(), "add_into", [&](auto tag) {
    using T = decltype(tag);
    add_into_kernel<<<grid_for(n), kThreads, 0, ctx.stream>>>(data_as<T>(out), data_as<T>(a), n);
  });
  ME_CUDA_CHECK(cudaGetLastError());
}

void scale(Tensor& x, double alpha) {
  const int64_t n = x.numel();
  if (n == 0) return;
  const Context& ctx = context(x.device());
  with_storage(x.dtype(), "scale", [&](auto tag) {
    using T = decltype(tag);
    scale_kernel<<<grid_for(n), kThreads, 0, ctx.stream>>>(data_as<T>(x), static_cast<float>(alpha),
                                                           n);
  });
  ME_CUDA_CHECK(cudaGetLastError());
}

void fill(Tensor& x, double value) {
  const int64_t n = x.numel();
  if (n == 0) return;
  const Context& ctx = context(x.device());
  with_storage(x.dtype(), "fill", [&](auto tag) {
    using T = decltype(tag);
    fill_kernel<<<grid_for(n), kThreads, 0, ctx.stream>>>(data_as<T>(x), static_cast<float>(value),
                                                          n);
  });
  ME_CUDA_CHECK(cudaGetLastError());
}

void cast(const Tensor& src, Tensor& dst) {
  const int64_t n = src.numel();
  if (n == 0) return;
  const Context& ctx = context(src.device());
  with_storage(src.dtype(), "cast", [&](auto from_tag) {
    using From = decltype(from_tag);
    with_storage(dst.dtype(), "cast", [&](auto to_tag) {
      using To = decltype(to_tag);
      cast_kernel<<<grid_for(n), kThreads, 0, ctx.stream>>>(data_as<From>(src), data_as<To>(dst),
                                                            n);
    });
  });
  ME_CUDA_CHECK(cudaGetLastError());
}

double sum_of_squares(const Tensor& x) {
  const int64_t n = x.numel();
  if (n == 0) return 0.0;
  const Context& ctx = context(x.device());
  const int blocks =
      static_cast<int>(std::min<int64_t>(kReduceBlocks, (n + kThreads - 1) / kThreads));
  Tensor partial = Tensor::empty({blocks + 1}, DType::kF64, x.device());
  double* p = partial.data<double>();
  with_storage(x.dtype(), "sum_of_squares", [&](auto tag) {
    using T = decltype(tag);
    sum_of_squares_partial_kernel<<<blocks, kThreads, 0, ctx.stream>>>(data_as<T>(x), n, p);
  });
  ME_CUDA_CHECK(cudaGetLastError());
  sum_partials_kernel<<<1, kThreads, 0, ctx.stream>>>(p, blocks, p + blocks);
  ME_CUDA_CHECK(cudaGetLastError());
  double total = 0.0;
  ME_CUDA_CHECK(cudaMemcpy(&total, p + blocks, sizeof(double), cudaMemcpyDeviceToHost));
  return total;
}

bool all_finite(const Tensor& x) {
  const int64_t n = x.numel();
  if (n == 0) return true;
  const Context& ctx = context(x.device());
  Tensor flag = Tensor::zeros({1}, DType::kI32, x.device());
  with_storage(x.dtype(), "all_finite", [&](auto tag) {
    using T = decltype(tag);
    all_finite_kernel<<<grid_for(n), kThreads, 0, ctx.stream>>>(data_as<T>(x), n,
                                                                flag.data<int32_t>());
  });
  ME_CUDA_CHECK(cudaGetLastError());
  int non_finite = 0;
  ME_CUDA_CHECK(cudaMemcpy(&non_finite, flag.data<int32_t>(), sizeof(int), cudaMemcpyDeviceToHost));
  return non_finite == 0;
}

}  // namespace me::cuda
