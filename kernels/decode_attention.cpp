// Cached-attention entry points: shape checks, the cache write as per-row copies (any device), and
// the host loops or the CUDA kernel.
#include "kernels/decode_attention.h"

#include "kernels/cpu/decode_attention.h"
#ifdef ME_WITH_CUDA
#include "kernels/cuda/decode_attention.h"
#endif
#include "kernels/op_checks.h"

namespace me {

namespace {

// Each row's real tokens [start, start + count) of a step of tn inside the cache of `capacity`.
void check_rows(const char* op, std::span<const int64_t> start, std::span<const int64_t> counts,
                int64_t batch, int64_t tn, int64_t capacity) {
  ME_CHECK(
      static_cast<int64_t>(start.size()) == batch && static_cast<int64_t>(counts.size()) == batch,
      "{}: {} start positions and {} counts for batch {}", op, start.size(), counts.size(), batch);
  for (int64_t b = 0; b < batch; ++b) {
    ME_CHECK(counts[b] >= 0 && counts[b] <= tn, "{}: row {} has {} of a step's {} tokens", op, b,
             counts[b], tn);
    ME_CHECK(start[b] >= 0 && start[b] + counts[b] <= capacity,
             "{}: positions [{}, {}) outside the cache of {}", op, start[b], start[b] + counts[b],
             capacity);
  }
}

// (B, S, G, D) caches matching the step's (B, Tn, *, D) tensor `x` in batch and head size.
void check_caches(const char* op, const Tensor& x, const Tensor& k_cache, const Tensor& v_cache) {
  ME_CHECK(k_cache.ndim() == 4 && k_cache.dim(0) == x.dim(0) && k_cache.dim(3) == x.dim(3),
           "{}: cache {} does not match {}", op, k_cache.describe(), x.describe());
  check_like(op, "v_cache", v_cache, k_cache);
  check_dtype(op, "k_cache", k_cache, x.dtype());
}

}  // namespace

void kv_cache_write(const Tensor& k, const Tensor& v, Tensor& k_cache, Tensor& v_cache,
                    std::span<const int64_t> start, std::span<const int64_t> counts) {
  constexpr const char* op = "kv_cache_write";
  ME_CHECK(k.ndim() == 4, "{}: k is {}, expected (B, Tn, G, D)", op, k.describe());
  check_like(op, "v", v, k);
  check_caches(op, k, k_cache, v_cache);
  ME_CHECK(k_cache.dim(2) == k.dim(2), "{}: cache {} for k {}", op, k_cache.describe(),
           k.describe());
  on_cpu(op, k, v, k_cache, v_cache);
  const int64_t b = k.dim(0), tn = k.dim(1), s = k_cache.dim(1);
  check_rows(op, start, counts, b, tn, s);
  const int64_t row = k.dim(2) * k.dim(3);  // elements per position
  for (int64_t bi = 0; bi < b; ++bi) {
    if (counts[bi] == 0) continue;
    const Shape chunk = {counts[bi], k.dim(2), k.dim(3)};
    const int64_t to = (bi * s + start[bi]) * row;
    const int64_t from = bi * tn * row;
    k_cache.view(to, chunk).copy_from(k.view(from, chunk));
    v_cache.view(to, chunk).copy_from(v.view(from, chunk));
  }
}

void decode_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                      std::span<const int64_t> start, std::span<const int64_t> counts, Tensor& out,
                      double scale) {
  constexpr const char* op = "decode_attention";
  check_float(op, "q", q);
  ME_CHECK(q.ndim() == 4, "{}: q is {}, expected (B, Tn, Hq, D)", op, q.describe());
  check_caches(op, q, k_cache, v_cache);
  ME_CHECK(k_cache.dim(2) > 0 && q.dim(2) % k_cache.dim(2) == 0,
           "{}: {} query heads for {} key/value groups", op, q.dim(2), k_cache.dim(2));
  check_like(op, "out", out, q);
  check_rows(op, start, counts, q.dim(0), q.dim(1), k_cache.dim(1));
  if (!on_cpu(op, q, k_cache, v_cache, out)) {
    ME_CUDA_OP(
        op, cuda::decode_attention(q, k_cache, v_cache, start.data(), counts.data(), out, scale));
    return;
  }
  cpu::decode_attention(q, k_cache, v_cache, start, counts, out, scale);
}

}  // namespace me
