// Attention: a 2-token case by hand, an independent f64 full-matrix reference (scores, mask,
// bias, softmax, dropout) for every mask kind, padding, Tq != Tk with causal offsets, documents
// and bias, f64 finite-difference gradients for q, k, v and the bias, rows that see no key,
// thread-count determinism, the fused-QKV split and the argument checks.
#include <doctest/doctest.h>

#include <cmath>
#include <optional>

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

// softmax(scale Q K^T + bias, masked) with dropout, materialised per (b, h) as a Tq x Tk matrix
// in f64, with the contract's rules spelled out again: query i sees key j iff
// kv_offset + j <= q_offset + i (causal), j < kv_lengths[b] and the document ids agree; a row that
// sees nothing has out 0 and lse -inf.
AttnOut naive_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                        const AttentionParams& p) {
  const int64_t B = q.dim(0), Tq = q.dim(1), Tk = k.dim(1), Hq = q.dim(2), Hkv = k.dim(2);
  const int64_t D = q.dim(3);
  const std::vector<double> Q = q.to_vector<double>(), K = k.to_vector<double>();
  const std::vector<double> V = v.to_vector<double>();
  const auto ints = [](const Tensor& t) {
    return t.defined() ? t.to_vector<int32_t>() : std::vector<int32_t>();
  };
  const std::vector<int32_t> lengths = ints(p.kv_lengths), qdoc = ints(p.document_ids);
  const std::vector<int32_t> kdoc = p.kv_document_ids.defined() ? ints(p.kv_document_ids) : qdoc;
  const std::vector<double> bias =
      p.bias.defined() ? p.bias.to_vector<double>() : std::vector<double>();
  AttnOut o{Tensor::zeros(q.shape(), DType::kF64), Tensor::zeros({B, Hq, Tq}, DType::kF64)};
  double* out = o.out.data<double>();
  double* lse = o.lse.data<double>();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < Hq; ++h) {
      const int64_t g = h / (Hq / Hkv);
      for (int64_t i = 0; i < Tq; ++i) {
        std::vector<double> S(Tk, -INFINITY);
        for (int64_t j = 0; j < Tk; ++j) {
          if (p.mask == AttentionMask::kCausal && p.kv_offset + j > p.q_offset + i) continue;
          if (!lengths.empty() && j >= lengths[b]) continue;
          if (!qdoc.empty() && qdoc[b * Tq + i] != kdoc[b * Tk + j]) continue;
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) {
            dot += Q[((b * Tq + i) * Hq + h) * D + d] * K[((b * Tk + j) * Hkv + g) * D + d];
          }
          const int64_t bb = bias.empty() || p.bias.dim(0) == 1 ? 0 : b;
          S[j] = p.scale * dot + (bias.empty() ? 0.0 : bias[((bb * Hq + h) * Tq + i) * Tk + j]);
        }
        double sum = 0;
        for (int64_t j = 0; j < Tk; ++j) sum += std::exp(S[j]);
        lse[(b * Hq + h) * Tq + i] = std::log(sum);  // -inf when the row saw nothing
        if (sum == 0) continue;
        for (int64_t j = 0; j < Tk; ++j) {
          double prob = std::exp(S[j]) / sum;
          if (p.dropout_p > 0) {
            const uint64_t index = ((b * Hq + h) * Tq + i) * Tk + j;
            const bool keep = philox_uniform(p.seed, p.stream, index) > float(p.dropout_p);
            prob = keep ? prob / (1 - p.dropout_p) : 0.0;
          }
          for (int64_t d = 0; d < D; ++d) {
            out[((b * Tq + i) * Hq + h) * D + d] += prob * V[((b * Tk + j) * Hkv + g) * D + d];
          }
        }
      }
    }
  }
  return o;
}

AttentionParams params_for(int64_t d, bool causal, double dropout) {
  AttentionParams p;
  p.scale = 1.0 / std::sqrt(static_cast<double>(d));
  p.mask = causal ? AttentionMask::kCausal : AttentionMask::kBidirectional;
  p.dropout_p = dropout;
  p.seed = 77;
  p.stream = rng_stream("attn", 3);
  return p;
}

struct Grads {
  Tensor dq, dk, dv, dbias;
};

// attention_backward on f64 inputs seeded with dout; dbias when params has a bias.
Grads run_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& dout,
                   const AttentionParams& p) {
  const AttnOut o = run_forward(q, k, v, p);
  Grads g{Tensor::zeros(q.shape(), DType::kF64), Tensor::zeros(k.shape(), DType::kF64),
          Tensor::zeros(k.shape(), DType::kF64), Tensor()};
  if (p.bias.defined()) g.dbias = Tensor::zeros(p.bias.shape(), DType::kF64);
  attention_backward(q, k, v, o.out, o.lse, dout, g.dq, g.dk, g.dv, p,
                     g.dbias.defined() ? &g.dbias : nullptr);
  return g;
}

}  // namespace

TEST_CASE("attention of two tokens matches softmax by hand") {
  // q = k = [[0], [1]] in time, v = [1, 3], scale 1, causal. Row 0 sees only key 0: out 1, lse 0.
  // Row 1: scores [0, 1], p = [1/(1+e), e/(1+e)], out = p0 + 3 p1, lse = log(1 + e).
  const Tensor qk = Tensor::from_vector<double>({0, 1}, {1, 2, 1, 1});
  const Tensor v = Tensor::from_vector<double>({1, 3}, {1, 2, 1, 1});
  const AttnOut o = run_forward(qk, qk, v, {1.0, AttentionMask::kCausal});
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
    const Grads g = run_backward(q, k, v, dout, p);
    const std::string what = fmt::format("causal={} dropout={} seed={}", c.causal, c.dropout, seed);
    me::test::check_gradient(loss, q, g.dq, {}, "attention dq " + what);
    me::test::check_gradient(loss, k, g.dk, {}, "attention dk " + what);
    me::test::check_gradient(loss, v, g.dv, {}, "attention dv " + what);
  }
}

namespace {

// One configuration of the generalised op: shapes, mask kind and offsets, and which of padding,
// documents (per query, and per key when the key ids are their own), bias and dropout it uses.
struct Scenario {
  const char* name;
  int64_t b, tq, tk, hq, hkv;
  AttentionMask mask;
  int64_t q_offset, kv_offset;
  std::vector<int32_t> kv_lengths;  // (B), or empty
  std::vector<int32_t> q_docs;      // (B, Tq), or empty
  std::vector<int32_t> kv_docs;     // (B, Tk), or empty: the keys use q_docs
  int64_t bias_batch;               // Bb, 0 without a bias
  double dropout;
};

constexpr int64_t kHeadDim = 3;
constexpr AttentionMask kCausal = AttentionMask::kCausal;
constexpr AttentionMask kBidirectional = AttentionMask::kBidirectional;

// Inputs of a scenario: q, k, v, dout and the params (with its bias) in f64.
struct Problem {
  Tensor q, k, v, dout;
  AttentionParams params;
};

Problem problem_for(const Scenario& c, uint64_t seed) {
  Problem pr{random_tensor({c.b, c.tq, c.hq, kHeadDim}, DType::kF64, seed, 2.0),
             random_tensor({c.b, c.tk, c.hkv, kHeadDim}, DType::kF64, seed + 1, 2.0),
             random_tensor({c.b, c.tk, c.hkv, kHeadDim}, DType::kF64, seed + 2),
             random_tensor({c.b, c.tq, c.hq, kHeadDim}, DType::kF64, seed + 3),
             params_for(kHeadDim, c.mask == kCausal, c.dropout)};
  AttentionParams& p = pr.params;
  p.q_offset = c.q_offset;
  p.kv_offset = c.kv_offset;
  if (!c.kv_lengths.empty()) p.kv_lengths = Tensor::from_vector(c.kv_lengths, {c.b});
  if (!c.q_docs.empty()) p.document_ids = Tensor::from_vector(c.q_docs, {c.b, c.tq});
  if (!c.kv_docs.empty()) p.kv_document_ids = Tensor::from_vector(c.kv_docs, {c.b, c.tk});
  if (c.bias_batch > 0) {
    p.bias = random_tensor({c.bias_batch, c.hq, c.tq, c.tk}, DType::kF64, seed + 4, 1.5);
  }
  return pr;
}

// B = 2 unless padding needs three samples; Hq 4 over Hkv 2 (GQA) throughout.
const Scenario kScenarios[] = {
    {"bidirectional", 2, 5, 5, 4, 2, kBidirectional, 0, 0, {}, {}, {}, 0, 0.0},
    // Sample 0 keeps one key, sample 1 all Tk, sample 2 none (every row of it sees nothing).
    {"padding", 3, 6, 6, 4, 2, kBidirectional, 0, 0, {1, 6, 0}, {}, {}, 0, 0.0},
    {"causal padding", 3, 6, 6, 4, 2, kCausal, 0, 0, {1, 6, 0}, {}, {}, 0, 0.0},
    {"cross attention Tq 5 Tk 9", 2, 5, 9, 4, 2, kBidirectional, 0, 0, {}, {}, {}, 0, 0.0},
    // A prefill chunk of 5 after 4 cached tokens: query i at 4 + i sees keys [0, 4 + i].
    {"causal prefill offset", 2, 5, 9, 4, 2, kCausal, 4, 0, {}, {}, {}, 0, 0.0},
    // A context-parallel chunk whose keys start 2 positions after its queries: rows 0, 1 see
    // nothing.
    {"causal negative shift", 2, 5, 9, 4, 2, kCausal, 10, 12, {}, {}, {}, 0, 0.0},
    {"causal Tq 5 Tk 9 no offset", 2, 5, 9, 4, 2, kCausal, 0, 0, {}, {}, {}, 0, 0.0},
    // Query documents against key documents of another length; query 4 of sample 1 (id 9) has no
    // key of its document.
    {"documents Tq 5 Tk 9",
     2,
     5,
     9,
     4,
     2,
     kBidirectional,
     0,
     0,
     {},
     {0, 0, 1, 1, 1, 3, 3, 4, 4, 9},
     {0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 4, 4, 5, 5},
     0,
     0.0},
    {"bias broadcast over the batch", 2, 5, 5, 4, 2, kCausal, 0, 0, {}, {}, {}, 1, 0.0},
    {"bias per sample", 2, 5, 7, 4, 2, kBidirectional, 0, 0, {}, {}, {}, 2, 0.0},
    {"all combined",
     2,
     5,
     9,
     4,
     2,
     kCausal,
     6,
     1,
     {7, 4},
     {0, 0, 1, 1, 1, 2, 2, 2, 2, 2},
     {0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2},
     1,
     0.3},
};

}  // namespace

TEST_CASE(
    "attention forward of every mask, padding, offset, document and bias kind matches "
    "the naive reference") {
  uint64_t seed = 200;
  for (const Scenario& c : kScenarios) {
    const Problem pr = problem_for(c, seed += 10);
    const std::string what = fmt::format("{} seed={}", c.name, seed);
    const AttnOut ref = naive_attention(pr.q, pr.k, pr.v, pr.params);
    const AttnOut o64 = run_forward(pr.q, pr.k, pr.v, pr.params);
    expect_close(o64.out, ref.out, 1e-13, 1e-12, what + " out");
    me::test::expect_close_allowing_neg_inf(o64.lse, ref.lse, 1e-13, 1e-12, what + " lse");
    const auto f32 = [](const Tensor& t) { return t.cast(DType::kF32); };
    AttentionParams p32 = pr.params;
    if (p32.bias.defined()) p32.bias = f32(p32.bias);
    const AttnOut o32 = run_forward(f32(pr.q), f32(pr.k), f32(pr.v), p32);
    expect_close(o32.out, ref.out, 1e-5, 1e-5, what + " f32 out");
    me::test::expect_close_allowing_neg_inf(o32.lse, ref.lse, 1e-5, 1e-5, what + " f32 lse");
  }
}

TEST_CASE(
    "attention backward of every mask, padding, offset, document and bias kind matches "
    "f64 finite differences, dbias included") {
  uint64_t seed = 300;
  for (const Scenario& c : kScenarios) {
    const Problem pr = problem_for(c, seed += 10);
    const std::string what = fmt::format("{} seed={}", c.name, seed);
    auto loss = [&] {
      return me::test::weighted_sum(run_forward(pr.q, pr.k, pr.v, pr.params).out, pr.dout);
    };
    const Grads g = run_backward(pr.q, pr.k, pr.v, pr.dout, pr.params);
    me::test::check_gradient(loss, pr.q, g.dq, {}, "dq " + what);
    me::test::check_gradient(loss, pr.k, g.dk, {}, "dk " + what);
    me::test::check_gradient(loss, pr.v, g.dv, {}, "dv " + what);
    if (pr.params.bias.defined()) {
      me::test::check_gradient(loss, pr.params.bias, g.dbias, {}, "dbias " + what);
    }
  }
}

TEST_CASE("attention rows that see no key give out 0, lse -inf and no gradient") {
  // Sample 0 has no key (kv_lengths 0); in sample 1 the causal shift -2 hides every key from
  // queries 0 and 1, which also carry a bias; the other rows are ordinary.
  const int64_t B = 2, Tq = 4, Tk = 6, Hq = 2, Hkv = 1, D = 3;
  const Tensor q = random_tensor({B, Tq, Hq, D}, DType::kF64, 401, 2.0);
  const Tensor k = random_tensor({B, Tk, Hkv, D}, DType::kF64, 402, 2.0);
  const Tensor v = random_tensor({B, Tk, Hkv, D}, DType::kF64, 403);
  const Tensor dout = random_tensor({B, Tq, Hq, D}, DType::kF64, 404);
  AttentionParams p = params_for(D, true, 0.0);
  p.kv_offset = 2;
  p.kv_lengths = Tensor::from_vector<int32_t>({0, 6}, {B});
  p.bias = random_tensor({1, Hq, Tq, Tk}, DType::kF64, 405);
  const AttnOut o = run_forward(q, k, v, p);
  const Grads g = run_backward(q, k, v, dout, p);
  const std::vector<double> out = o.out.to_vector<double>(), lse = o.lse.to_vector<double>();
  const std::vector<double> dq = g.dq.to_vector<double>(), dk = g.dk.to_vector<double>();
  const std::vector<double> dv = g.dv.to_vector<double>(), dbias = g.dbias.to_vector<double>();
  const auto empty = [&](int64_t b, int64_t i) { return b == 0 || i < 2; };
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < Hq; ++h) {
      for (int64_t i = 0; i < Tq; ++i) {
        const double row_lse = lse[(b * Hq + h) * Tq + i];
        CHECK_MESSAGE((empty(b, i) ? row_lse == -INFINITY : std::isfinite(row_lse)), "lse b ", b,
                      " h ", h, " i ", i, ": ", row_lse);
        for (int64_t x = 0; x < D; ++x) {
          const int64_t at = ((b * Tq + i) * Hq + h) * D + x;
          CHECK((empty(b, i) ? out[at] == 0.0 : out[at] != 0.0));
          // Query 2 of sample 1 sees key 0 alone: a softmax of one score, constant in q.
          CHECK((empty(b, i) || i == 2 ? dq[at] == 0.0 : dq[at] != 0.0));
        }
      }
    }
  }
  for (int64_t j = 0; j < Tk; ++j) {  // sample 0's keys are all padding
    for (int64_t x = 0; x < D; ++x) {
      CHECK(dk[j * D + x] == 0.0);
      CHECK(dv[j * D + x] == 0.0);
    }
  }
  // dbias sums the samples: rows 0, 1 (empty in both) and row 2 (one key, probability 1) get
  // nothing, the others sample 1's gradients.
  for (int64_t h = 0; h < Hq; ++h) {
    for (int64_t i = 0; i < Tq; ++i) {
      for (int64_t j = 0; j < Tk; ++j) {
        const double db = dbias[(h * Tq + i) * Tk + j];
        const bool seen = i >= 3 && j <= i - 2;
        CHECK_MESSAGE((seen ? db != 0.0 : db == 0.0), "dbias h ", h, " i ", i, " j ", j);
      }
    }
  }
}

TEST_CASE("attention causal offsets are positions: only their difference counts, at any int64") {
  const int64_t B = 1, Tq = 3, Tk = 5, H = 2, D = 3;
  const Tensor q = random_tensor({B, Tq, H, D}, DType::kF64, 411, 2.0);
  const Tensor k = random_tensor({B, Tk, H, D}, DType::kF64, 412, 2.0);
  const Tensor v = random_tensor({B, Tk, H, D}, DType::kF64, 413);
  AttentionParams p = params_for(D, true, 0.0);
  p.q_offset = 2;  // query i sees keys [0, i + 2]
  const AttnOut want = run_forward(q, k, v, p);
  p.q_offset = (int64_t{1} << 62) + 2;
  p.kv_offset = int64_t{1} << 62;
  const AttnOut shifted = run_forward(q, k, v, p);
  me::test::expect_bitwise_equal(shifted.out, want.out, "offsets near 2^62");
  // A difference beyond int64 (q far ahead) sees every key, as the bidirectional mask does.
  p.q_offset = INT64_MAX;
  p.kv_offset = INT64_MIN;
  const AttnOut all = run_forward(q, k, v, p);
  const AttnOut bidirectional = run_forward(q, k, v, params_for(D, false, 0.0));
  me::test::expect_bitwise_equal(all.out, bidirectional.out, "offsets INT64_MAX, INT64_MIN");
  CHECK(attention_diagonal_shift(p, Tq, Tk) == Tk);
  std::swap(p.q_offset, p.kv_offset);
  CHECK(attention_diagonal_shift(p, Tq, Tk) == -Tq);
}

TEST_CASE("attention forward and backward are bitwise identical with 1 and 2 threads") {
  // Padding, documents, a broadcast bias (its batch sum) and dropout, at sizes that use threads.
  const int64_t B = 2, T = 33, Hq = 4, Hkv = 2, D = 16;
  const Tensor q = random_tensor({B, T, Hq, D}, DType::kF32, 81);
  const Tensor k = random_tensor({B, T, Hkv, D}, DType::kF32, 82);
  const Tensor v = random_tensor({B, T, Hkv, D}, DType::kF32, 83);
  const Tensor dout = random_tensor({B, T, Hq, D}, DType::kF32, 84);
  AttentionParams p = params_for(D, true, 0.1);
  p.kv_lengths = Tensor::from_vector<int32_t>({30, 33}, {B});
  std::vector<int32_t> docs(B * T);
  for (int64_t i = 0; i < B * T; ++i) docs[i] = static_cast<int32_t>(i % T < 12 ? 0 : 1);
  p.document_ids = Tensor::from_vector(docs, {B, T});
  p.bias = random_tensor({1, Hq, T, T}, DType::kF32, 85);
  std::vector<Tensor> results[2];
  for (int threads : {1, 2}) {
    me::test::ScopedThreadCount scoped(threads);
    const AttnOut o = run_forward(q, k, v, p);
    Tensor dq = Tensor::zeros(q.shape(), DType::kF32);
    Tensor dk = Tensor::zeros(k.shape(), DType::kF32), dv = dk.clone();
    Tensor dbias = Tensor::zeros(p.bias.shape(), DType::kF32);
    attention_backward(q, k, v, o.out, o.lse, dout, dq, dk, dv, p, &dbias);
    results[threads - 1] = {o.out, o.lse, dq, dk, dv, dbias};
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

TEST_CASE("attention on the fused qkv projection equals split + attention with every option") {
  // Multi-head self-attention with a causal offset, padding and a bias: on the host the fused
  // entry points split and run the op, so they must match it bitwise, dbias included.
  const int64_t B = 2, T = 6, H = 2, D = 3;
  const Tensor qkv = random_tensor({B, T, H * 3 * D}, DType::kF64, 421, 2.0);
  const Tensor dout = random_tensor({B, T, H, D}, DType::kF64, 422);
  AttentionParams p = params_for(D, true, 0.0);
  p.q_offset = 1;
  p.kv_lengths = Tensor::from_vector<int32_t>({4, 0}, {B});
  p.bias = random_tensor({1, H, T, T}, DType::kF64, 423);
  Tensor out = Tensor::zeros({B, T, H, D}, DType::kF64),
         lse = Tensor::zeros({B, H, T}, DType::kF64);
  attention_forward_qkv(qkv, out, lse, p);
  Tensor dqkv = Tensor::zeros(qkv.shape(), DType::kF64);
  Tensor dbias = Tensor::zeros(p.bias.shape(), DType::kF64);
  attention_backward_qkv(qkv, out, lse, dout, dqkv, p, &dbias);
  Tensor q = Tensor::zeros({B, T, H, D}, DType::kF64), k = q.clone(), v = q.clone();
  split_qkv_forward(qkv, q, k, v);
  const AttnOut ref = run_forward(q, k, v, p);
  const Grads g = run_backward(q, k, v, dout, p);
  Tensor dqkv_ref = Tensor::zeros(qkv.shape(), DType::kF64);
  split_qkv_backward(g.dq, g.dk, g.dv, dqkv_ref);
  me::test::expect_bitwise_equal(out, ref.out, "fused qkv out");
  me::test::expect_bitwise_equal(lse, ref.lse, "fused qkv lse");
  me::test::expect_bitwise_equal(dqkv, dqkv_ref, "fused qkv dqkv");
  me::test::expect_bitwise_equal(dbias, g.dbias, "fused qkv dbias");
}

TEST_CASE("attention rejects incompatible head counts and a dropout of 1") {
  const Tensor q = Tensor::zeros({1, 3, 4, 2}, DType::kF32);
  const Tensor k3 = Tensor::zeros({1, 3, 3, 2}, DType::kF32);
  Tensor out = q.clone(), lse = Tensor::zeros({1, 4, 3}, DType::kF32);
  CHECK_THROWS_WITH_AS(attention_forward(q, k3, k3, out, lse, {}),
                       doctest::Contains("Hq % Hkv == 0"), Error);
  const Tensor k2 = Tensor::zeros({1, 3, 2, 2}, DType::kF32);
  AttentionParams bad;
  bad.dropout_p = 1.0;
  CHECK_THROWS_AS(attention_forward(q, k2, k2, out, lse, bad), Error);
}

TEST_CASE("attention names each malformed argument in an me::Error") {
  // q (1, 3, 2, 2) over k (1, 4, 2, 2): Tq 3, Tk 4.
  const Tensor q = Tensor::zeros({1, 3, 2, 2}, DType::kF32);
  const Tensor k = Tensor::zeros({1, 4, 2, 2}, DType::kF32);
  Tensor out = q.clone(), lse = Tensor::zeros({1, 2, 3}, DType::kF32);
  const auto rejects = [&](const AttentionParams& p, const char* name) {
    CHECK_THROWS_WITH_AS(attention_forward(q, k, k, out, lse, p), doctest::Contains(name), Error);
  };
  AttentionParams p;
  p.kv_lengths = Tensor::zeros({2}, DType::kI32);
  rejects(p, "kv_lengths");
  p.kv_lengths = Tensor::zeros({1}, DType::kF32);
  rejects(p, "kv_lengths");
  p = {};
  p.document_ids = Tensor::zeros({1, 3}, DType::kI32);
  rejects(p, "Tq == Tk");  // the keys would need ids of their own
  p.kv_document_ids = Tensor::zeros({1, 3}, DType::kI32);
  rejects(p, "kv_document_ids");
  p.document_ids = Tensor();
  p.kv_document_ids = Tensor::zeros({1, 4}, DType::kI32);
  rejects(p, "without document_ids");
  p = {};
  p.bias = Tensor::zeros({1, 2, 3, 3}, DType::kF32);  // (., ., Tq, Tq) instead of (., ., Tq, Tk)
  rejects(p, "bias");
  p.bias = Tensor::zeros({1, 2, 3, 4}, DType::kF64);
  rejects(p, "bias");
  p.bias = Tensor::zeros({2, 2, 3, 4}, DType::kF32);  // Bb neither 1 nor B
  rejects(p, "bias");
  p = {};
  p.mask = static_cast<AttentionMask>(7);
  rejects(p, "mask");
  CHECK_THROWS_WITH_AS(
      attention_forward(q, k, Tensor::zeros({1, 4, 2, 3}, DType::kF32), out, lse, {}),
      doctest::Contains("v is"), Error);
  Tensor wrong_lse = Tensor::zeros({1, 2, 4}, DType::kF32);
  CHECK_THROWS_WITH_AS(attention_forward(q, k, k, out, wrong_lse, {}), doctest::Contains("lse"),
                       Error);
  // dbias needs a bias and its shape.
  p = {};
  Tensor dq = q.clone(), dk = k.clone(), dv = k.clone();
  Tensor dbias = Tensor::zeros({1, 2, 3, 4}, DType::kF32);
  CHECK_THROWS_WITH_AS(attention_backward(q, k, k, out, lse, out, dq, dk, dv, p, &dbias),
                       doctest::Contains("without a bias"), Error);
  p.bias = Tensor::zeros({1, 2, 3, 4}, DType::kF32);
  Tensor wrong_dbias = Tensor::zeros({1, 2, 4, 3}, DType::kF32);
  CHECK_THROWS_WITH_AS(attention_backward(q, k, k, out, lse, out, dq, dk, dv, p, &wrong_dbias),
                       doctest::Contains("dbias"), Error);
  CHECK_NOTHROW(attention_backward(q, k, k, out, lse, out, dq, dk, dv, p, &dbias));
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
    const Grads g = run_backward(q, k, v, dout, p);
    const std::string what = fmt::format("documents causal={} seed={}", causal, seed);
    me::test::check_gradient(loss, q, g.dq, {}, "attention dq " + what);
    me::test::check_gradient(loss, k, g.dk, {}, "attention dk " + what);
    me::test::check_gradient(loss, v, g.dv, {}, "attention dv " + what);
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
  CHECK_THROWS_WITH_AS(attention_forward(q, q, q, out, lse, p), doctest::Contains("document_ids"),
                       Error);
}
