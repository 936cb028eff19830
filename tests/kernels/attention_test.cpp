// Attention: a 2-token case by hand, a naive full-matrix reference (causal, GQA, dropout), f64
// finite-difference gradients for q, k, v, thread-count determinism, and the fused-QKV split.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/core/philox.h"
#include "kernels/attention.h"
#include "tests/support/grad_check.h"
#include "tests/support/thread_count.h"

using namespace me;
using me::test::expect_close;
using me::test::random_tensor;

namespace {

struct AttnOut {
  Tensor out, lse;
};

AttnOut run_forward(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionParams& p) {
  AttnOut o{Tensor::zeros(q.shape(), q.dtype()),
            Tensor::zeros({q.dim(0), q.dim(2), q.dim(1)}, q.dtype())};
  attention_forward(q, k, v, o.out, o.lse, p);
  return o;
}

// softmax(scale Q K^T + mask) with dropout, materialised per (b, h) as a T x T matrix, in f64.
AttnOut naive_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                        const AttentionParams& p) {
  const int64_t B = q.dim(0), T = q.dim(1), Hq = q.dim(2), Hkv = k.dim(2), D = q.dim(3);
  const std::vector<double> Q = q.to_vector<double>(), K = k.to_vector<double>();
  const std::vector<double> V = v.to_vector<double>();
  AttnOut o{Tensor::zeros(q.shape(), DType::kF64), Tensor::zeros({B, Hq, T}, DType::kF64)};
  double* out = o.out.data<double>();
  double* lse = o.lse.data<double>();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < Hq; ++h) {
      const int64_t g = h / (Hq / Hkv);
      std::vector<double> S(T * T, -INFINITY);
      for (int64_t i = 0; i < T; ++i) {
        for (int64_t j = 0; j < T; ++j) {
          if (p.causal && j > i) continue;
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) {
            dot += Q[((b * T + i) * Hq + h) * D + d] * K[((b * T + j) * Hkv + g) * D + d];
          }
          S[i * T + j] = p.scale * dot;
        }
        double sum = 0;
        for (int64_t j = 0; j < T; ++j) sum += std::exp(S[i * T + j]);
        lse[(b * Hq + h) * T + i] = std::log(sum);
        for (int64_t j = 0; j < T; ++j) {
          double prob = std::exp(S[i * T + j]) / sum;
          if (p.dropout_p > 0) {
            const uint64_t index = ((b * Hq + h) * T + i) * T + j;
            const bool keep = philox_uniform(p.seed, p.stream, index) > float(p.dropout_p);
            prob = keep ? prob / (1 - p.dropout_p) : 0.0;
          }
          for (int64_t d = 0; d < D; ++d) {
            out[((b * T + i) * Hq + h) * D + d] += prob * V[((b * T + j) * Hkv + g) * D + d];
          }
        }
      }
    }
  }
  return o;
}

AttentionParams params_for(int64_t d, bool causal, double dropout) {
  return {1.0 / std::sqrt(static_cast<double>(d)), causal, dropout, 77, rng_stream("attn", 3)};
}

}  // namespace

TEST_CASE("attention of two tokens matches softmax by hand") {
  // q = k = [[0], [1]] in time, v = [1, 3], scale 1, causal. Row 0 sees only key 0: out 1, lse 0.
  // Row 1: scores [0, 1], p = [1/(1+e), e/(1+e)], out = p0 + 3 p1, lse = log(1 + e).
  const Tensor qk = Tensor::from_vector<double>({0, 1}, {1, 2, 1, 1});
  const Tensor v = Tensor::from_vector<double>({1, 3}, {1, 2, 1, 1});
  const AttnOut o = run_forward(qk, qk, v, {1.0, true, 0.0, 0, 0});
  expect_close(o.out, Tensor::from_vector<double>({1.0, 2.46211715726001}, {1, 2, 1, 1}), 1e-15,
               1e-15, "out");
  // lse[0] = 0 exactly: its tolerance is the absolute one.
  expect_close(o.lse, Tensor::from_vector<double>({0.0, 1.3132616875182228}, {1, 1, 2}), 1e-15,
               1e-15, "lse");
}

TEST_CASE("attention forward matches a naive full-matrix reference") {
  struct Case {
    int64_t hq, hkv;
    bool causal;
    double dropout;
  };
  uint64_t seed = 40;
  for (const Case& c : {Case{4, 2, true, 0.0}, Case{4, 2, true, 0.3}, Case{3, 3, false, 0.0},
                        Case{4, 1, false, 0.3}}) {
    const int64_t B = 2, T = 5, D = 3;
    const Tensor q = random_tensor({B, T, c.hq, D}, DType::kF64, ++seed, 2.0);
    const Tensor k = random_tensor({B, T, c.hkv, D}, DType::kF64, ++seed, 2.0);
    const Tensor v = random_tensor({B, T, c.hkv, D}, DType::kF64, ++seed);
    const AttentionParams p = params_for(D, c.causal, c.dropout);
    const std::string what = fmt::format("Hq={} Hkv={} causal={} dropout={} seed={}", c.hq, c.hkv,
                                         c.causal, c.dropout, seed);
    const AttnOut ref = naive_attention(q, k, v, p);
    const AttnOut o64 = run_forward(q, k, v, p);
    expect_close(o64.out, ref.out, 1e-13, 1e-12, what);
    expect_close(o64.lse, ref.lse, 1e-13, 1e-12, what);
    const auto f32 = [](const Tensor& t) { return t.cast(DType::kF32); };
    const AttnOut o32 = run_forward(f32(q), f32(k), f32(v), p);
    expect_close(o32.out, ref.out, 1e-5, 1e-5, what + " f32");
    expect_close(o32.lse, ref.lse, 1e-5, 1e-5, what + " f32");
  }
}

TEST_CASE("attention backward matches f64 finite differences (causal, GQA, dropout)") {
  struct Case {
    bool causal;
    double dropout;
  };
  uint64_t seed = 60;
  for (const Case& c : {Case{true, 0.0}, Case{true, 0.3}, Case{false, 0.0}}) {
    const int64_t B = 2, T = 5, Hq = 4, Hkv = 2, D = 3;
    const Tensor q = random_tensor({B, T, Hq, D}, DType::kF64, ++seed, 2.0);
    const Tensor k = random_tensor({B, T, Hkv, D}, DType::kF64, ++seed, 2.0);
    const Tensor v = random_tensor({B, T, Hkv, D}, DType::kF64, ++seed);
    const Tensor dout = random_tensor({B, T, Hq, D}, DType::kF64, ++seed);
    const AttentionParams p = params_for(D, c.causal, c.dropout);
    auto loss = [&] { return me::test::weighted_sum(run_forward(q, k, v, p).out, dout); };
    const AttnOut o = run_forward(q, k, v, p);
    Tensor dq = Tensor::zeros(q.shape(), DType::kF64);
    Tensor dk = Tensor::zeros(k.shape(), DType::kF64), dv = dk.clone();
    attention_backward(q, k, v, o.out, o.lse, dout, dq, dk, dv, p);
    const std::string what = fmt::format("causal={} dropout={} seed={}", c.causal, c.dropout, seed);
    me::test::check_gradient(loss, q, dq, {}, "attention dq " + what);
    me::test::check_gradient(loss, k, dk, {}, "attention dk " + what);
    me::test::check_gradient(loss, v, dv, {}, "attention dv " + what);
  }
}

TEST_CASE("attention forward and backward are bitwise identical with 1 and 2 threads") {
  const int64_t B = 2, T = 33, Hq = 4, Hkv = 2, D = 16;
  const Tensor q = random_tensor({B, T, Hq, D}, DType::kF32, 81);
  const Tensor k = random_tensor({B, T, Hkv, D}, DType::kF32, 82);
  const Tensor v = random_tensor({B, T, Hkv, D}, DType::kF32, 83);
  const Tensor dout = random_tensor({B, T, Hq, D}, DType::kF32, 84);
  const AttentionParams p = params_for(D, true, 0.1);
  std::vector<Tensor> results[2];
  for (int threads : {1, 2}) {
    me::test::ScopedThreadCount scoped(threads);
    const AttnOut o = run_forward(q, k, v, p);
    Tensor dq = Tensor::zeros(q.shape(), DType::kF32);
    Tensor dk = Tensor::zeros(k.shape(), DType::kF32), dv = dk.clone();
    attention_backward(q, k, v, o.out, o.lse, dout, dq, dk, dv, p);
    results[threads - 1] = {o.out, o.lse, dq, dk, dv};
  }
  for (size_t i = 0; i < results[0].size(); ++i) {
    me::test::expect_bitwise_equal(results[0][i], results[1][i], fmt::format("output {}", i));
  }
}

TEST_CASE("split_qkv follows Megatron's per-group layout and backward inverts it") {
  // Hq = 4, G = 2, D = 2: per token the 16 values are [q0 q1 k0 v0 | q2 q3 k1 v1], 2 each.
  const int64_t B = 1, T = 2, Hq = 4, G = 2, D = 2, W = G * (Hq / G + 2) * D;
  std::vector<double> values(B * T * W);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(i);
  const Tensor qkv = Tensor::from_vector(values, {B, T, W});
  Tensor q = Tensor::zeros({B, T, Hq, D}, DType::kF64);
  Tensor k = Tensor::zeros({B, T, G, D}, DType::kF64), v = k.clone();
  split_qkv_forward(qkv, q, k, v);
  CHECK(q.to_vector<double>() ==
        std::vector<double>{0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27});
  CHECK(k.to_vector<double>() == std::vector<double>{4, 5, 12, 13, 20, 21, 28, 29});
  CHECK(v.to_vector<double>() == std::vector<double>{6, 7, 14, 15, 22, 23, 30, 31});
  Tensor back = Tensor::zeros({B, T, W}, DType::kF64);
  split_qkv_backward(q, k, v, back);
  me::test::expect_bitwise_equal(back, qkv, "split_qkv round trip");
  CHECK_THROWS_AS(split_qkv_forward(Tensor::zeros({B, T, W + 1}, DType::kF64), q, k, v),
                  InternalError);
}

TEST_CASE("attention rejects incompatible head counts and a dropout of 1") {
  const Tensor q = Tensor::zeros({1, 3, 4, 2}, DType::kF32);
  const Tensor k3 = Tensor::zeros({1, 3, 3, 2}, DType::kF32);
  Tensor out = q.clone(), lse = Tensor::zeros({1, 4, 3}, DType::kF32);
  CHECK_THROWS_AS(attention_forward(q, k3, k3, out, lse, {}), InternalError);
  const Tensor k2 = Tensor::zeros({1, 3, 2, 2}, DType::kF32);
  AttentionParams bad;
  bad.dropout_p = 1.0;
  CHECK_THROWS_AS(attention_forward(q, k2, k2, out, lse, bad), Error);
}

namespace {

// Tokens [t0, t1) of a (1, T, H, D) tensor as their own (1, t1 - t0, H, D) tensor.
Tensor token_range(const Tensor& x, int64_t t0, int64_t t1) {
  const int64_t row = x.dim(2) * x.dim(3);
  return x.view(x.offset() + t0 * row, {1, t1 - t0, x.dim(2), x.dim(3)}).clone();
}

}  // namespace

TEST_CASE("attention with document ids equals running each document alone") {
  // One packed sequence of three documents [0, 3), [3, 4), [4, 9), causal and not, GQA.
  const int64_t T = 9, Hq = 4, Hkv = 2, D = 5;
  const std::vector<int64_t> starts = {0, 3, 4, 9};
  const Tensor docs = Tensor::from_vector<int32_t>({0, 0, 0, 1, 2, 2, 2, 2, 2}, {1, T});
  uint64_t seed = 90;
  for (bool causal : {true, false}) {
    const Tensor q = random_tensor({1, T, Hq, D}, DType::kF64, ++seed, 2.0);
    const Tensor k = random_tensor({1, T, Hkv, D}, DType::kF64, ++seed, 2.0);
    const Tensor v = random_tensor({1, T, Hkv, D}, DType::kF64, ++seed);
    AttentionParams p = params_for(D, causal, 0.0);
    p.document_ids = docs;
    const AttnOut packed = run_forward(q, k, v, p);
    const AttentionParams alone = params_for(D, causal, 0.0);
    for (size_t doc = 0; doc + 1 < starts.size(); ++doc) {
      const int64_t t0 = starts[doc], t1 = starts[doc + 1];
      const AttnOut ref = run_forward(token_range(q, t0, t1), token_range(k, t0, t1),
                                      token_range(v, t0, t1), alone);
      const std::string what = fmt::format("document {} causal={} seed={}", doc, causal, seed);
      expect_close(token_range(packed.out, t0, t1), ref.out, 1e-14, 1e-13, "out " + what);
      for (int64_t h = 0; h < Hq; ++h) {  // lse (1, Hq, T): row h, columns [t0, t1)
        const Tensor got = packed.lse.view(h * T + t0, {t1 - t0}).clone();
        const Tensor want = ref.lse.view(h * (t1 - t0), {t1 - t0}).clone();
        expect_close(got, want, 1e-14, 1e-13, fmt::format("lse head {} {}", h, what));
      }
    }
  }
}

TEST_CASE("attention backward with two documents matches f64 finite differences") {
  // Two sequences: the first packs documents of 3 and 4 tokens, the second is one document.
  const int64_t B = 2, T = 7, Hq = 4, Hkv = 2, D = 3;
  const Tensor docs =
      Tensor::from_vector<int32_t>({5, 5, 5, 6, 6, 6, 6, 0, 0, 0, 0, 0, 0, 0}, {B, T});
  uint64_t seed = 120;
  for (bool causal : {true, false}) {
    const Tensor q = random_tensor({B, T, Hq, D}, DType::kF64, ++seed, 2.0);
    const Tensor k = random_tensor({B, T, Hkv, D}, DType::kF64, ++seed, 2.0);
    const Tensor v = random_tensor({B, T, Hkv, D}, DType::kF64, ++seed);
    const Tensor dout = random_tensor({B, T, Hq, D}, DType::kF64, ++seed);
    AttentionParams p = params_for(D, causal, 0.0);
    p.document_ids = docs;
    auto loss = [&] { return me::test::weighted_sum(run_forward(q, k, v, p).out, dout); };
    const AttnOut o = run_forward(q, k, v, p);
    Tensor dq = Tensor::zeros(q.shape(), DType::kF64);
    Tensor dk = Tensor::zeros(k.shape(), DType::kF64), dv = dk.clone();
    attention_backward(q, k, v, o.out, o.lse, dout, dq, dk, dv, p);
    const std::string what = fmt::format("documents causal={} seed={}", causal, seed);
    me::test::check_gradient(loss, q, dq, {}, "attention dq " + what);
    me::test::check_gradient(loss, k, dk, {}, "attention dk " + what);
    me::test::check_gradient(loss, v, dv, {}, "attention dv " + what);
    // Keys of document 5 get no gradient from queries of document 6 and vice versa: moving a key
    // of the second document leaves the first document's outputs unchanged.
    const AttnOut before = run_forward(q, k, v, p);
    k.data<double>()[((0 * T + 4) * Hkv + 1) * D] += 0.5;
    const AttnOut after = run_forward(q, k, v, p);
    expect_close(token_range(after.out.view(0, {1, T, Hq, D}), 0, 3),
                 token_range(before.out.view(0, {1, T, Hq, D}), 0, 3), 0, 0,
                 "first document untouched " + what);
  }
}

TEST_CASE("attention rejects document ids of the wrong shape") {
  const Tensor q = Tensor::zeros({1, 3, 2, 2}, DType::kF32);
  Tensor out = q.clone(), lse = Tensor::zeros({1, 2, 3}, DType::kF32);
  AttentionParams p = params_for(2, true, 0.0);
  p.document_ids = Tensor::zeros({1, 4}, DType::kI32);
  CHECK_THROWS_AS(attention_forward(q, q, q, out, lse, p), InternalError);
}
