// Storage types of the CUDA kernels: tensors hold f32, bf16 or f16; every kernel loads into f32,
// computes in f32 and rounds once when it stores (round to nearest even), as Megatron's fused
// kernels do. with_storage() turns a tensor's dtype into the kernel's template argument.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <utility>

#include "kernels/cuda/cuda_context.h"

namespace me::cuda {

__device__ __forceinline__ float load(float v) { return v; }
__device__ __forceinline__ float load(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float load(__half v) { return __half2float(v); }

template <typename T>
__device__ __forceinline__ T store_as(float v);
template <>
__device__ __forceinline__ float store_as<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __nv_bfloat16 store_as<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}
template <>
__device__ __forceinline__ __half store_as<__half>(float v) {
  return __float2half_rn(v);
}

template <typename T>
constexpr DType storage_dtype();
template <>
constexpr DType storage_dtype<float>() {
  return DType::kF32;
}
template <>
constexpr DType storage_dtype<__nv_bfloat16>() {
  return DType::kBF16;
}
template <>
constexpr DType storage_dtype<__half>() {
  return DType::kF16;
}

// The data pointer of a CUDA tensor as storage type T (its dtype must be T's).
template <typename T>
T* data_as(const Tensor& t) {
  ME_CHECK(t.dtype() == storage_dtype<T>(), "tensor {} read as {}", t.describe(),
           dtype_name(storage_dtype<T>()));
  return static_cast<T*>(t.raw_data());
}

// kSize consecutive elements of T moved as one 16-byte load or store: the memory-bound kernels
// use it when the element count and the pointers allow.
template <typename T>
struct alignas(16) Pack {
  static constexpr int kSize = 16 / static_cast<int>(sizeof(T));
  T v[kSize];
};

// True when every pointer is 16-byte aligned and n splits into whole packs of T.
template <typename T, typename... Ptrs>
bool packable(int64_t n, const Ptrs*... ptrs) {
  return n % Pack<T>::kSize == 0 &&
         ((reinterpret_cast<uintptr_t>(ptrs) % alignof(Pack<T>) == 0) && ...);
}

// Calls f(T{}) with T the storage type of `dtype`; f64 and integer tensors are an me::Error (the
// CUDA kernels compute in f32; f64 is the CPU reference's precision).
template <typename F>
decltype(auto) with_storage(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::kF32:
      return std::forward<F>(f)(float{});
    case DType::kBF16:
      return std::forward<F>(f)(__nv_bfloat16{});
    case DType::kF16:
      return std::forward<F>(f)(__half{});
    default:
      throw Error(
          fmt::format("{}: {} tensors are not supported by the CUDA kernels (f32, bf16 "
                      "and f16 are)",
                      op, dtype_name(dtype)));
  }
}

}  // namespace me::cuda
