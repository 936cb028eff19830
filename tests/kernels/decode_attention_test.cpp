// Cached attention against a hand-computed case and against the training attention kernel: every
// query position, rows at different offsets, grouped-query heads, rows with padding after their
// tokens, and the cache write (padding never written).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "kernels/attention.h"
#include "kernels/decode_attention.h"
#include "tests/support/grad_check.h"

namespace me {
namespace {

// Positions [from, from + n) of a (B, T, H, D) tensor, for every row.
Tensor positions(const Tensor& x, int64_t from, int64_t n) {
  const int64_t b = x.dim(0), t = x.dim(1), inner = x.dim(2) * x.dim(3);
  const std::vector<double> all = x.to_vector<double>();
  std::vector<double> out;
  for (int64_t bi = 0; bi < b; ++bi) {
    for (int64_t i = from; i < from + n; ++i) {
      for (int64_t e = 0; e < inner; ++e) out.push_back(all[(bi * t + i) * inner + e]);
    }
  }
  return Tensor::from_vector(out, {b, n, x.dim(2), x.dim(3)});
}

TEST_CASE("decode_attention matches a hand-computed softmax") {
  // One head of width 1: keys 1, 2 (and an unwritten third slot), values 10, 20, query 1.
  const Tensor q = Tensor::from_vector<double>({1.0}, {1, 1, 1, 1});
  Tensor k_cache = Tensor::zeros({1, 3, 1, 1}, DType::kF64);
  Tensor v_cache = Tensor::zeros({1, 3, 1, 1}, DType::kF64);
  kv_cache_write(Tensor::from_vector<double>({1.0, 2.0}, {1, 2, 1, 1}),
                 Tensor::from_vector<double>({10.0, 20.0}, {1, 2, 1, 1}), k_cache, v_cache,
                 std::vector<int64_t>{0}, std::vector<int64_t>{2});
  Tensor out = Tensor::empty({1, 1, 1, 1}, DType::kF64);
  const std::vector<int64_t> one = {1};
  const std::vector<int64_t> start = {1};  // the query is position 1: sees keys 0 and 1
  decode_attention(q, k_cache, v_cache, start, one, out, 1.0);
  const double e1 = std::exp(1.0), e2 = std::exp(2.0);
  CHECK(out.to_vector<double>()[0] == doctest::Approx((10 * e1 + 20 * e2) / (e1 + e2)));
  const std::vector<int64_t> first = {0};  // position 0 sees only key 0
  decode_attention(q, k_cache, v_cache, first, one, out, 1.0);
  CHECK(out.to_vector<double>()[0] == doctest::Approx(10.0));
}

TEST_CASE("decode_attention equals causal attention at every position with GQA") {
  const int64_t b = 2, t = 6, hq = 4, g = 2, d = 8;
  const Tensor q = test::random_tensor({b, t, hq, d}, DType::kF64, 11);
  const Tensor k = test::random_tensor({b, t, g, d}, DType::kF64, 12);
  const Tensor v = test::random_tensor({b, t, g, d}, DType::kF64, 13);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  Tensor ref = Tensor::empty(q.shape(), DType::kF64);
  Tensor lse = Tensor::empty({b, hq, t}, DType::kF64);
  AttentionParams params;
  params.scale = scale;
  attention_forward(q, k, v, ref, lse, params);

  // Incremental: write keys one position at a time, query each position as it arrives.
  Tensor k_cache = Tensor::zeros({b, t + 2, g, d}, DType::kF64);
  Tensor v_cache = Tensor::zeros({b, t + 2, g, d}, DType::kF64);
  for (int64_t p = 0; p < t; ++p) {
    const std::vector<int64_t> start = {p, p}, one = {1, 1};
    kv_cache_write(positions(k, p, 1), positions(v, p, 1), k_cache, v_cache, start, one);
    Tensor out = Tensor::empty({b, 1, hq, d}, DType::kF64);
    decode_attention(positions(q, p, 1), k_cache, v_cache, start, one, out, scale);
    test::expect_close(out, positions(ref, p, 1), 1e-12, 1e-12, "position " + std::to_string(p));
  }
}

TEST_CASE("decode_attention serves rows at different offsets in one call") {
  const int64_t t = 5, hq = 2, g = 1, d = 4;
  const Tensor q = test::random_tensor({1, t, hq, d}, DType::kF64, 21);
  const Tensor k = test::random_tensor({1, t, g, d}, DType::kF64, 22);
  const Tensor v = test::random_tensor({1, t, g, d}, DType::kF64, 23);
  Tensor ref = Tensor::empty(q.shape(), DType::kF64);
  Tensor lse = Tensor::empty({1, hq, t}, DType::kF64);
  AttentionParams params;
  params.scale = 0.5;
  attention_forward(q, k, v, ref, lse, params);
  // Two rows holding the same sequence, cached up to positions 1 and 3; each asks for 2 queries.
  Tensor k_cache = Tensor::zeros({2, t, g, d}, DType::kF64);
  Tensor v_cache = Tensor::zeros({2, t, g, d}, DType::kF64);
  for (int row = 0; row < 2; ++row) {
    Tensor kr = k_cache.view(row * t * g * d, {1, t, g, d});
    Tensor vr = v_cache.view(row * t * g * d, {1, t, g, d});
    kv_cache_write(k, v, kr, vr, std::vector<int64_t>{0}, std::vector<int64_t>{t});
  }
  std::vector<double> qs;
  for (const int64_t from : {1, 3}) {
    const auto rows = positions(q, from, 2).to_vector<double>();
    qs.insert(qs.end(), rows.begin(), rows.end());
  }
  const Tensor q2 = Tensor::from_vector(qs, {2, 2, hq, d});
  Tensor out = Tensor::empty(q2.shape(), DType::kF64);
  decode_attention(q2, k_cache, v_cache, std::vector<int64_t>{1, 3}, std::vector<int64_t>{2, 2},
                   out, 0.5);
  const auto got = out.to_vector<double>();
  const auto want1 = positions(ref, 1, 2).to_vector<double>();
  const auto want3 = positions(ref, 3, 2).to_vector<double>();
  const size_t half = got.size() / 2;
  for (size_t i = 0; i < half; ++i) {
    CHECK(got[i] == doctest::Approx(want1[i]).epsilon(1e-12));
    CHECK(got[half + i] == doctest::Approx(want3[i]).epsilon(1e-12));
  }
}

TEST_CASE("decode_attention gives padding queries zeros and each row's real queries their keys") {
  // Row 0 holds 2 cached positions and brings 1 real token of a 3-token step; row 1 brings 3
  // from an empty cache; row 2 is full (start = S) and brings none.
  const int64_t s = 5, tn = 3, hq = 2, g = 1, d = 4;
  const Tensor q = test::random_tensor({1, s, hq, d}, DType::kF64, 31);
  const Tensor k = test::random_tensor({1, s, g, d}, DType::kF64, 32);
  const Tensor v = test::random_tensor({1, s, g, d}, DType::kF64, 33);
  Tensor ref = Tensor::empty(q.shape(), DType::kF64);
  Tensor lse = Tensor::empty({1, hq, s}, DType::kF64);
  AttentionParams params;
  attention_forward(q, k, v, ref, lse, params);
  Tensor k_cache = Tensor::zeros({3, s, g, d}, DType::kF64);
  Tensor v_cache = Tensor::zeros({3, s, g, d}, DType::kF64);
  const int64_t cache_row = s * g * d;
  for (int row = 0; row < 3; ++row) {
    Tensor kr = k_cache.view(row * cache_row, {1, s, g, d});
    Tensor vr = v_cache.view(row * cache_row, {1, s, g, d});
    kv_cache_write(k, v, kr, vr, std::vector<int64_t>{0}, std::vector<int64_t>{s});
  }
  const std::vector<int64_t> start = {2, 0, s}, counts = {1, 3, 0};
  std::vector<double> qs;
  for (const int64_t from : {2, 0, 2}) {
    const auto rows = positions(q, from, tn).to_vector<double>();
    qs.insert(qs.end(), rows.begin(), rows.end());
  }
  const Tensor step_q = Tensor::from_vector(qs, {3, tn, hq, d});
  Tensor out = test::random_tensor(step_q.shape(), DType::kF64, 34);  // padding must overwrite
  decode_attention(step_q, k_cache, v_cache, start, counts, out, 1.0);
  const auto got = out.to_vector<double>();
  const auto want0 = positions(ref, 2, 1).to_vector<double>();
  const auto want1 = positions(ref, 0, tn).to_vector<double>();
  const size_t per_token = hq * d, per_row = tn * per_token;
  for (size_t e = 0; e < per_token; ++e) CHECK(got[e] == doctest::Approx(want0[e]).epsilon(1e-12));
  for (size_t e = per_token; e < per_row; ++e) CHECK(got[e] == 0.0);
  for (size_t e = 0; e < per_row; ++e) {
    CHECK(got[per_row + e] == doctest::Approx(want1[e]).epsilon(1e-12));
    CHECK(got[2 * per_row + e] == 0.0);
  }
}

TEST_CASE("kv_cache_write places each row's real tokens at its own offset and skips padding") {
  Tensor k_cache = Tensor::zeros({2, 4, 1, 1}, DType::kF32);
  Tensor v_cache = Tensor::zeros({2, 4, 1, 1}, DType::kF32);
  kv_cache_write(Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2, 1, 1}),
                 Tensor::from_vector<float>({5, 6, 7, 8}, {2, 2, 1, 1}), k_cache, v_cache,
                 std::vector<int64_t>{0, 2}, std::vector<int64_t>{2, 2});
  CHECK(k_cache.to_vector<float>() == std::vector<float>{1, 2, 0, 0, 0, 0, 3, 4});
  CHECK(v_cache.to_vector<float>() == std::vector<float>{5, 6, 0, 0, 0, 0, 7, 8});
  // Row 0 brings one real token (its second is padding), row 1 none: only position 2 changes.
  kv_cache_write(Tensor::from_vector<float>({9, 9, 9, 9}, {2, 2, 1, 1}),
                 Tensor::from_vector<float>({8, 8, 8, 8}, {2, 2, 1, 1}), k_cache, v_cache,
                 std::vector<int64_t>{2, 4}, std::vector<int64_t>{1, 0});
  CHECK(k_cache.to_vector<float>() == std::vector<float>{1, 2, 9, 0, 0, 0, 3, 4});
  CHECK(v_cache.to_vector<float>() == std::vector<float>{5, 6, 8, 0, 0, 0, 7, 8});
  CHECK_THROWS_WITH_AS(kv_cache_write(Tensor::zeros({2, 2, 1, 1}, DType::kF32),
                                      Tensor::zeros({2, 2, 1, 1}, DType::kF32), k_cache, v_cache,
                                      std::vector<int64_t>{3, 0}, std::vector<int64_t>{2, 0}),
                       doctest::Contains("positions [3, 5) outside the cache of 4"), InternalError);
}

}  // namespace
}  // namespace me
