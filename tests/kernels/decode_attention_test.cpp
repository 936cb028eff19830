// Cached attention against a hand-computed case and against the training attention kernel: every
// query position, rows at different offsets, grouped-query heads, and the cache write.
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
                 std::vector<int64_t>{0});
  Tensor out = Tensor::empty({1, 1, 1, 1}, DType::kF64);
  const std::vector<int64_t> start = {1};  // the query is position 1: sees keys 0 and 1
  decode_attention(q, k_cache, v_cache, start, out, 1.0);
  const double e1 = std::exp(1.0), e2 = std::exp(2.0);
  CHECK(out.to_vector<double>()[0] == doctest::Approx((10 * e1 + 20 * e2) / (e1 + e2)));
  const std::vector<int64_t> first = {0};  // position 0 sees only key 0
  decode_attention(q, k_cache, v_cache, first, out, 1.0);
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
    const std::vector<int64_t> start = {p, p};
    kv_cache_write(positions(k, p, 1), positions(v, p, 1), k_cache, v_cache, start);
    Tensor out = Tensor::empty({b, 1, hq, d}, DType::kF64);
    decode_attention(positions(q, p, 1), k_cache, v_cache, start, out, scale);
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
    kv_cache_write(k, v, kr, vr, std::vector<int64_t>{0});
  }
  std::vector<double> qs;
  for (const int64_t from : {1, 3}) {
    const auto rows = positions(q, from, 2).to_vector<double>();
    qs.insert(qs.end(), rows.begin(), rows.end());
  }
  const Tensor q2 = Tensor::from_vector(qs, {2, 2, hq, d});
  Tensor out = Tensor::empty(q2.shape(), DType::kF64);
  decode_attention(q2, k_cache, v_cache, std::vector<int64_t>{1, 3}, out, 0.5);
  const auto got = out.to_vector<double>();
  const auto want1 = positions(ref, 1, 2).to_vector<double>();
  const auto want3 = positions(ref, 3, 2).to_vector<double>();
  const size_t half = got.size() / 2;
  for (size_t i = 0; i < half; ++i) {
    CHECK(got[i] == doctest::Approx(want1[i]).epsilon(1e-12));
    CHECK(got[half + i] == doctest::Approx(want3[i]).epsilon(1e-12));
  }
}

TEST_CASE("kv_cache_write places each row at its own offset") {
  Tensor k_cache = Tensor::zeros({2, 4, 1, 1}, DType::kF32);
  Tensor v_cache = Tensor::zeros({2, 4, 1, 1}, DType::kF32);
  kv_cache_write(Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2, 1, 1}),
                 Tensor::from_vector<float>({5, 6, 7, 8}, {2, 2, 1, 1}), k_cache, v_cache,
                 std::vector<int64_t>{0, 2});
  CHECK(k_cache.to_vector<float>() == std::vector<float>{1, 2, 0, 0, 0, 0, 3, 4});
  CHECK(v_cache.to_vector<float>() == std::vector<float>{5, 6, 0, 0, 0, 0, 7, 8});
}

}  // namespace
}  // namespace me
