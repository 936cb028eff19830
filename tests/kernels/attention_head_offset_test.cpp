// Attention with a head offset (a tensor-parallel rank's heads): each rank's call on its query
// heads and kv groups, with head_offset and total_heads set, equals the matching heads of the
// full-head call bitwise (forward and backward, GQA, dropout); without the offset it does not;
// offsets outside total_heads are refused.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <vector>

#include "engine/core/philox.h"
#include "kernels/attention.h"
#include "tests/support/grad_check.h"

using namespace me;
using me::test::random_tensor;

namespace {

struct Result {
  Tensor out, lse, dq, dk, dv;
};

Result run(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& dout,
           const AttentionParams& params) {
  const DType dt = q.dtype();
  Result r{Tensor::zeros(q.shape(), dt), Tensor::zeros({q.dim(0), q.dim(2), q.dim(1)}, dt),
           Tensor::zeros(q.shape(), dt), Tensor::zeros(k.shape(), dt),
           Tensor::zeros(k.shape(), dt)};
  attention_forward(q, k, v, r.out, r.lse, params);
  attention_backward(q, k, v, r.out, r.lse, dout, r.dq, r.dk, r.dv, params);
  return r;
}

// Heads [h0, h0 + n) of a (B, T, H, D) tensor as a (B, T, n, D) tensor.
Tensor heads(const Tensor& x, int64_t h0, int64_t n) {
  const int64_t rows = x.dim(0) * x.dim(1), h = x.dim(2), d = x.dim(3);
  const std::vector<double> all = x.cast(DType::kF64).to_vector<double>();  // exact for f32
  std::vector<double> out;
  for (int64_t r = 0; r < rows; ++r) {
    out.insert(out.end(), all.begin() + (r * h + h0) * d, all.begin() + (r * h + h0 + n) * d);
  }
  return Tensor::from_vector(out, {x.dim(0), x.dim(1), n, d}).cast(x.dtype());
}

// Heads [h0, h0 + n) of a (B, H, T) log-sum-exp: viewed as (B, 1, H, T), heads are dimension 2.
Tensor lse_heads(const Tensor& lse, int64_t h0, int64_t n) {
  return heads(lse.reshape({lse.dim(0), 1, lse.dim(1), lse.dim(2)}), h0, n)
      .reshape({lse.dim(0), n, lse.dim(2)});
}

AttentionParams dropout_params() {
  AttentionParams p;
  p.scale = 0.4;
  p.mask = AttentionMask::kCausal;
  p.dropout_p = 0.3;
  p.seed = 5;
  p.stream = rng_stream("head_offset", 2);
  return p;
}

}  // namespace

TEST_CASE("attention of a rank's heads with their offset equals those heads of the full call") {
  // Hq 8 in G 4 query groups over tp 2 (4 heads, 2 groups a rank) and tp 4 (2 heads, 1 group).
  const int64_t B = 2, T = 9, Hq = 8, G = 4, D = 3;
  for (DType dt : {DType::kF64, DType::kF32}) {
    const Tensor q = random_tensor({B, T, Hq, D}, dt, 71, 2.0);
    const Tensor k = random_tensor({B, T, G, D}, dt, 72, 2.0);
    const Tensor v = random_tensor({B, T, G, D}, dt, 73);
    const Tensor dout = random_tensor({B, T, Hq, D}, dt, 74);
    const Result full = run(q, k, v, dout, dropout_params());
    for (int64_t tp : {2, 4}) {
      const int64_t hq = Hq / tp, g = G / tp;
      for (int64_t rank = 0; rank < tp; ++rank) {
        const std::string what = fmt::format("{} tp {} rank {}", dtype_name(dt), tp, rank);
        AttentionParams p = dropout_params();
        p.head_offset = rank * hq;
        p.total_heads = Hq;
        const Result mine = run(heads(q, rank * hq, hq), heads(k, rank * g, g),
                                heads(v, rank * g, g), heads(dout, rank * hq, hq), p);
        me::test::expect_bitwise_equal(mine.out, heads(full.out, rank * hq, hq), what + " out");
        me::test::expect_bitwise_equal(mine.lse, lse_heads(full.lse, rank * hq, hq), what + " lse");
        me::test::expect_bitwise_equal(mine.dq, heads(full.dq, rank * hq, hq), what + " dq");
        me::test::expect_bitwise_equal(mine.dk, heads(full.dk, rank * g, g), what + " dk");
        me::test::expect_bitwise_equal(mine.dv, heads(full.dv, rank * g, g), what + " dv");
      }
    }
  }
}

TEST_CASE("attention of the last rank's heads without the offset draws other masks") {
  const int64_t B = 1, T = 8, Hq = 4, D = 2;
  const Tensor q = random_tensor({B, T, Hq, D}, DType::kF64, 81);
  const Tensor k = random_tensor({B, T, Hq, D}, DType::kF64, 82);
  const Tensor v = random_tensor({B, T, Hq, D}, DType::kF64, 83);
  const Tensor dout = random_tensor({B, T, Hq, D}, DType::kF64, 84);
  const Result full = run(q, k, v, dout, dropout_params());
  const Result local =
      run(heads(q, 2, 2), heads(k, 2, 2), heads(v, 2, 2), heads(dout, 2, 2), dropout_params());
  const std::vector<double> got = local.out.to_vector<double>();
  const std::vector<double> want = heads(full.out, 2, 2).to_vector<double>();
  int differ = 0;
  for (size_t i = 0; i < got.size(); ++i) differ += std::fabs(got[i] - want[i]) > 1e-12;
  CHECK(differ > static_cast<int>(got.size()) / 4);  // the masks of heads 0, 1: most rows differ
}

TEST_CASE("attention refuses heads outside total_heads") {
  const Tensor q = Tensor::zeros({1, 3, 2, 2}, DType::kF32);
  Tensor out = q.clone(), lse = Tensor::zeros({1, 2, 3}, DType::kF32);
  AttentionParams p;
  p.total_heads = 4;
  p.head_offset = 3;  // heads [3, 5) of 4
  CHECK_THROWS_WITH_AS(attention_forward(q, q, q, out, lse, p),
                       doctest::Contains("heads [3, 5) of q"), Error);
  p.head_offset = -1;
  CHECK_THROWS_AS(attention_forward(q, q, q, out, lse, p), Error);
  p.head_offset = 1;
  p.total_heads = 0;  // 0 means q's own 2 heads: no room for an offset
  CHECK_THROWS_AS(attention_forward(q, q, q, out, lse, p), Error);
  p.head_offset = 2;
  p.total_heads = 4;
  CHECK_NOTHROW(attention_forward(q, q, q, out, lse, p));
}
