// Element types of tensors, with bf16/fp16 storage conversions usable on host and device.
// CPU kernels compute in fp32 (fp64 for gradient checks); bf16/fp16 are storage formats there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#if defined(__CUDACC__)
#define ME_HOST_DEVICE __host__ __device__
#else
#define ME_HOST_DEVICE
#endif

namespace me {

enum class DType : uint8_t { kF32, kF64, kBF16, kF16, kI32, kI64, kU16 };

constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::kF64:
    case DType::kI64:
      return 8;
    case DType::kF32:
    case DType::kI32:
      return 4;
    case DType::kBF16:
    case DType::kF16:
    case DType::kU16:
      return 2;
  }
  return 0;
}

constexpr bool dtype_is_float(DType t) {
  return t == DType::kF32 || t == DType::kF64 || t == DType::kBF16 || t == DType::kF16;
}

// The dtype of the statistics, losses and parameter gradients that go with data of dtype `t`: f64
// for the f64 reference, f32 otherwise (bf16/f16 compute keeps them in f32, as Megatron does).
constexpr DType accum_dtype(DType t) { return t == DType::kF64 ? DType::kF64 : DType::kF32; }

std::string_view dtype_name(DType t);
DType dtype_from_name(std::string_view name);  // throws me::Error on an unknown name

// bf16: the upper half of an fp32, rounded to nearest even (NaN kept quiet).
struct BFloat16 {
  uint16_t bits = 0;
  BFloat16() = default;
  ME_HOST_DEVICE explicit BFloat16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
      bits = static_cast<uint16_t>((u >> 16) | 0x40u);
    } else {
      u += 0x7fffu + ((u >> 16) & 1u);
      bits = static_cast<uint16_t>(u >> 16);
    }
  }
  ME_HOST_DEVICE explicit operator float() const {
    uint32_t u = static_cast<uint32_t>(bits) << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
  }
};

// IEEE binary16, round to nearest even, with subnormals and inf/NaN.
struct Float16 {
  uint16_t bits = 0;
  Float16() = default;
  ME_HOST_DEVICE explicit Float16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    const uint32_t sign = (u >> 16) & 0x8000u;
    const uint32_t abs = u & 0x7fffffffu;
    if (abs > 0x7f800000u) {
      bits = static_cast<uint16_t>(sign | 0x7e00u);
    } else if (abs >= 0x477ff000u) {  // rounds to >= 65520: overflow to inf
      bits = static_cast<uint16_t>(sign | 0x7c00u);
    } else if (abs < 0x38800000u) {  // below the smallest normal half: subnormal or zero
      // half = round(value / 2^-24) = round(significand * 2^(exponent - 126)).
      const uint32_t shift = 126u - (abs >> 23);
      if (shift > 25u) {
        bits = static_cast<uint16_t>(sign);
      } else {
        const uint32_t significand = (abs & 0x7fffffu) | 0x800000u;
        uint32_t half = significand >> shift;
        const uint32_t rem = significand & ((1u << shift) - 1u);
        const uint32_t mid = 1u << (shift - 1u);
        if (rem > mid || (rem == mid && (half & 1u))) ++half;
        bits = static_cast<uint16_t>(sign | half);
      }
    } else {
      uint32_t v = abs - 0x38000000u;  // rebias exponent 127 -> 15
      v += 0xfffu + ((v >> 13) & 1u);
      bits = static_cast<uint16_t>(sign | (v >> 13));
    }
  }
  ME_HOST_DEVICE explicit operator float() const {
    const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
    const uint32_t exp = (bits >> 10) & 0x1fu;
    const uint32_t mant = bits & 0x3ffu;
    uint32_t u;
    if (exp == 0) {
      if (mant == 0) {
        u = sign;
      } else {  // subnormal: normalise
        int e = -1;
        uint32_t m = mant;
        do {
          ++e;
          m <<= 1;
        } while ((m & 0x400u) == 0);
        u = sign | ((112u - e) << 23) | ((m & 0x3ffu) << 13);
      }
    } else if (exp == 31) {
      u = sign | 0x7f800000u | (mant << 13);
    } else {
      u = sign | ((exp + 112u) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
  }
};

template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::kF32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::kF64;
}
template <>
constexpr DType dtype_of<BFloat16>() {
  return DType::kBF16;
}
template <>
constexpr DType dtype_of<Float16>() {
  return DType::kF16;
}
template <>
constexpr DType dtype_of<int32_t>() {
  return DType::kI32;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::kI64;
}
template <>
constexpr DType dtype_of<uint16_t>() {
  return DType::kU16;
}

}  // namespace me
