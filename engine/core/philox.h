// Philox4x32-10 counter-based RNG (Salmon et al. 2011): a value depends only on (seed, stream,
// index), so results are the same for any thread count and on CPU and GPU.
#pragma once

#include <cmath>
#include <cstdint>
#include <string_view>

#include "engine/core/dtype.h"

namespace me {

struct Philox4x32 {
  uint32_t v[4];
};

ME_HOST_DEVICE inline Philox4x32 philox4x32(uint64_t seed, uint64_t stream, uint64_t index) {
  uint32_t c0 = static_cast<uint32_t>(index), c1 = static_cast<uint32_t>(index >> 32);
  uint32_t c2 = static_cast<uint32_t>(stream), c3 = static_cast<uint32_t>(stream >> 32);
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
    const uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
    const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<uint32_t>(p1);
    c3 = static_cast<uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

// Uniform in (0, 1]: never 0, so log() is safe.
ME_HOST_DEVICE inline float philox_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
  const uint32_t r = philox4x32(seed, stream, index).v[0];
  return (static_cast<float>(r >> 8) + 1.0f) * (1.0f / 16777216.0f);
}

// Standard normal by Box-Muller over two words of one Philox block (double precision on host).
ME_HOST_DEVICE inline double philox_normal(uint64_t seed, uint64_t stream, uint64_t index) {
  const Philox4x32 r = philox4x32(seed, stream, index);
  const double u1 = (static_cast<double>(r.v[0]) + 1.0) / 4294967296.0;
  const double u2 = static_cast<double>(r.v[1]) / 4294967296.0;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

// A stream id from a name and up to two numbers (FNV-1a, then mixed): keys dropout by
// (module, iteration, micro-batch) and init by parameter name.
inline uint64_t rng_stream(std::string_view name, uint64_t a = 0, uint64_t b = 0) {
  uint64_t h = 1469598103934665603ull;
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  for (uint64_t x : {a, b}) {
    h ^= x + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
  }
  return h;
}

}  // namespace me
