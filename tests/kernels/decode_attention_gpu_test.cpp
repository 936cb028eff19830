// CUDA cached attention against the host loops: decode steps (one query per row at different
// offsets), a prefill-sized step, rows with padding after their tokens (zeros), grouped-query
// heads, a cache longer than the default shared memory, and bf16 caches within bf16's error; the
// cache write on the device, which skips padding.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>

#include "kernels/decode_attention.h"
#include "tests/support/gpu_parity.h"
#include "tests/support/grad_check.h"

namespace me {
namespace {

void check_decode(int64_t b, int64_t tn, int64_t hq, int64_t g, int64_t d, int64_t s,
                  const std::vector<int64_t>& start, const std::vector<int64_t>& counts,
                  DType dtype, double tol) {
  const std::string ctx = fmt::format("decode_attention B {} Tn {} Hq {} G {} D {} S {} {}", b, tn,
                                      hq, g, d, s, dtype_name(dtype));
  const Tensor q = test::random_tensor({b, tn, hq, d}, DType::kF32, 1, 1.0);
  const Tensor k = test::random_tensor({b, s, g, d}, DType::kF32, 2, 1.0);
  const Tensor v = test::random_tensor({b, s, g, d}, DType::kF32, 3, 1.0);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  // The reference sees the values the device holds (rounded to dtype first).
  const Tensor qr = q.cast(dtype).cast(DType::kF32), kr = k.cast(dtype).cast(DType::kF32);
  const Tensor vr = v.cast(dtype).cast(DType::kF32);
  Tensor want = Tensor::empty(q.shape(), DType::kF32);
  decode_attention(qr, kr, vr, start, counts, want, scale);
  Tensor got = test::poisoned(q.shape(), dtype, test::gpu_device());
  decode_attention(test::to_gpu(q.cast(dtype)), test::to_gpu(k.cast(dtype)),
                   test::to_gpu(v.cast(dtype)), start, counts, got, scale);
  const Tensor got_f32 = got.to(Device::cpu()).cast(DType::kF32);
  test::expect_close(got_f32, want, tol, tol, ctx);
}

TEST_CASE("cuda decode_attention equals the host loops") {
  check_decode(3, 1, 4, 2, 16, 20, {0, 7, 19}, {1, 1, 1}, DType::kF32, 1e-5);
  check_decode(2, 9, 6, 6, 64, 12, {0, 3}, {9, 9}, DType::kF32, 1e-5);
  check_decode(1, 1, 2, 1, 8, 20000, {19999}, {1}, DType::kF32, 1e-5);
  check_decode(4, 1, 8, 2, 64, 300, {10, 100, 200, 299}, {1, 1, 1, 1}, DType::kBF16, 2e-2);
  // Per-row lengths: a 7-token step with 1, 4, 7 and 0 real tokens (the last row's cache full).
  check_decode(4, 7, 4, 2, 32, 16, {0, 3, 9, 16}, {1, 4, 7, 0}, DType::kF32, 1e-5);
  check_decode(4, 7, 4, 2, 32, 16, {0, 3, 9, 16}, {1, 4, 7, 0}, DType::kBF16, 2e-2);
}

TEST_CASE("kv_cache_write on cuda places each row's real tokens at its own offset") {
  const Device g = test::gpu_device();
  Tensor k_cache = Tensor::zeros({2, 4, 1, 1}, DType::kF32, g);
  Tensor v_cache = Tensor::zeros({2, 4, 1, 1}, DType::kF32, g);
  kv_cache_write(test::to_gpu(Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2, 1, 1})),
                 test::to_gpu(Tensor::from_vector<float>({5, 6, 7, 8}, {2, 2, 1, 1})), k_cache,
                 v_cache, std::vector<int64_t>{0, 2}, std::vector<int64_t>{2, 1});
  CHECK(k_cache.to(Device::cpu()).to_vector<float>() == std::vector<float>{1, 2, 0, 0, 0, 0, 3, 0});
  CHECK(v_cache.to(Device::cpu()).to_vector<float>() == std::vector<float>{5, 6, 0, 0, 0, 0, 7, 0});
}

}  // namespace
}  // namespace me
