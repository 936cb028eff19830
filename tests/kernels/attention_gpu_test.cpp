// CUDA attention (flash contract) against the host loops: causal and full, grouped-query heads,
// head dims below, at and above a warp and up to 128, sequences within one 64-row tile and over
// several with a tail, Philox dropout on the probabilities with the host's index rule, per-token
// document ids crossing tile edges, a tensor-parallel rank's heads (the dropout mask drawn at a
// head offset), and the fused-QKV split (bitwise: it only copies). Then the generalised op in
// f32, bf16 and f16 at head dims 64, 80, 96 and 128: host vs our tiled kernels vs cuDNN for
// every mask kind, padding, Tq != Tk, causal offsets, bias with dbias and documents, asserting
// where cuDNN runs (bitwise its own result) and where our kernels do.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "kernels/attention.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/attention_cudnn.h"
#include "tests/support/gpu_parity.h"
#include "tests/support/grad_check.h"

namespace me {
namespace {

struct Case {
  int64_t b, t, hq, hkv, d;
  bool causal;
  double dropout;
};

struct Result {
  Tensor out, lse, dq, dk, dv;
};

// The params with their tensors (ids, lengths, bias) copied to `device`.
AttentionParams params_on(AttentionParams params, Device device) {
  for (Tensor* t :
       {&params.kv_lengths, &params.document_ids, &params.kv_document_ids, &params.bias}) {
    if (t->defined()) *t = t->to(device);
  }
  return params;
}

Result run(const Case& c, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& dout,
           AttentionParams params, Device device) {
  params = params_on(params, device);
  auto out = [&](const Shape& s) {
    return device.is_cpu() ? Tensor::empty(s, q.dtype()) : test::poisoned(s, q.dtype(), device);
  };
  Result r{out(q.shape()), out({c.b, c.hq, c.t}), out(q.shape()), out(k.shape()), out(k.shape())};
  const Tensor qd = q.to(device), kd = k.to(device), vd = v.to(device);
  attention_forward(qd, kd, vd, r.out, r.lse, params);
  attention_backward(qd, kd, vd, r.out, r.lse, dout.to(device), r.dq, r.dk, r.dv, params);
  return r;
}

// The host reference in f64 on the same (f32-valued) inputs: the tolerance then covers only the
// GPU's f32 rounding. The dropout mask is the same (the keep test compares in float).
Result run_host_f64(const Case& c, const Tensor& q, const Tensor& k, const Tensor& v,
                    const Tensor& dout, const AttentionParams& params) {
  auto f64 = [](const Tensor& t) { return t.cast(DType::kF64); };
  return run(c, f64(q), f64(k), f64(v), f64(dout), params, Device::cpu());
}

TEST_CASE("cuda attention forward and backward match the host") {
  const Device g = test::gpu_device();
  const Case cases[] = {{2, 37, 4, 2, 24, true, 0.0},   {1, 19, 3, 3, 40, false, 0.0},
                        {2, 33, 4, 1, 64, true, 0.0},   {1, 29, 2, 2, 32, true, 0.2},
                        {2, 17, 6, 3, 80, false, 0.1},  {1, 9, 2, 1, 128, true, 0.0},
                        {2, 200, 4, 2, 64, true, 0.1},  {1, 200, 4, 1, 80, false, 0.0},
                        {1, 130, 2, 2, 128, true, 0.2}, {1, 64, 3, 1, 16, true, 0.0}};
  for (const Case& c : cases) {
    const std::string ctx = fmt::format("attention b {} t {} hq {} hkv {} d {} causal {} p {}", c.b,
                                        c.t, c.hq, c.hkv, c.d, c.causal, c.dropout);
    const Tensor q = test::random_tensor({c.b, c.t, c.hq, c.d}, DType::kF32, 1);
    const Tensor k = test::random_tensor({c.b, c.t, c.hkv, c.d}, DType::kF32, 2);
    const Tensor v = test::random_tensor({c.b, c.t, c.hkv, c.d}, DType::kF32, 3);
    const Tensor dout = test::random_tensor({c.b, c.t, c.hq, c.d}, DType::kF32, 4);
    AttentionParams params;
    params.scale = 1.0 / std::sqrt(static_cast<double>(c.d));
    params.mask = c.causal ? AttentionMask::kCausal : AttentionMask::kBidirectional;
    params.dropout_p = c.dropout;
    params.seed = 99;
    params.stream = 5;
    const Result cpu = run_host_f64(c, q, k, v, dout, params);
    const Result gpu = run(c, q, k, v, dout, params, g);
    test::expect_gpu_close(gpu.out, cpu.out, test::kAbsTol, test::kRelTol, ctx + " out");
    test::expect_gpu_close(gpu.lse, cpu.lse, test::kAbsTol, test::kRelTol, ctx + " lse");
    // Gradients sum T products of D-term dot products (and GQA sums over the group), so their
    // f32 rounding reaches a few 1e-6 on values of size ~1: abs 5e-5 leaves a wide margin.
    test::expect_gpu_close(gpu.dq, cpu.dq, 5e-5, test::kRelTol, ctx + " dq");
    test::expect_gpu_close(gpu.dk, cpu.dk, 5e-5, test::kRelTol, ctx + " dk");
    test::expect_gpu_close(gpu.dv, cpu.dv, 5e-5, test::kRelTol, ctx + " dv");
  }
}

// Per-token ids with documents ending inside 64-row tiles: three in sequence 0, two in sequence 1.
Tensor document_ids(int64_t b, int64_t t) {
  std::vector<int32_t> ids(static_cast<size_t>(b * t));
  for (int64_t i = 0; i < t; ++i) {
    ids[i] = i < t / 4 ? 0 : (i < 3 * t / 4 ? 1 : 2);
    if (b > 1) ids[t + i] = i < t / 2 ? 7 : 3;
  }
  return Tensor::from_vector(ids, {b, t});
}

TEST_CASE("cuda attention with document ids matches the host") {
  const Device g = test::gpu_device();
  const Case cases[] = {{2, 23, 4, 2, 40, true, 0.1},
                        {2, 23, 4, 2, 40, false, 0.1},
                        {2, 200, 6, 2, 64, true, 0.1},
                        {1, 200, 4, 2, 128, false, 0.0},
                        {2, 150, 4, 4, 80, true, 0.0}};
  for (const Case& c : cases) {
    const std::string ctx = fmt::format("attention with documents t {} d {} causal {} p {}", c.t,
                                        c.d, c.causal, c.dropout);
    const Tensor q = test::random_tensor({c.b, c.t, c.hq, c.d}, DType::kF32, 31);
    const Tensor k = test::random_tensor({c.b, c.t, c.hkv, c.d}, DType::kF32, 32);
    const Tensor v = test::random_tensor({c.b, c.t, c.hkv, c.d}, DType::kF32, 33);
    const Tensor dout = test::random_tensor({c.b, c.t, c.hq, c.d}, DType::kF32, 34);
    AttentionParams params;
    params.scale = 0.15;
    params.mask = c.causal ? AttentionMask::kCausal : AttentionMask::kBidirectional;
    params.dropout_p = c.dropout;
    params.seed = 8;
    params.document_ids = document_ids(c.b, c.t);
    const Result cpu = run_host_f64(c, q, k, v, dout, params);
    const Result gpu = run(c, q, k, v, dout, params, g);
    test::expect_gpu_close(gpu.out, cpu.out, test::kAbsTol, test::kRelTol, ctx + " out");
    test::expect_gpu_close(gpu.lse, cpu.lse, test::kAbsTol, test::kRelTol, ctx + " lse");
    test::expect_gpu_close(gpu.dq, cpu.dq, 5e-5, test::kRelTol, ctx + " dq");
    test::expect_gpu_close(gpu.dk, cpu.dk, 5e-5, test::kRelTol, ctx + " dk");
    test::expect_gpu_close(gpu.dv, cpu.dv, 5e-5, test::kRelTol, ctx + " dv");
  }
}

TEST_CASE("cuda attention with a head offset matches the host") {
  // Heads [4, 6) of 8 in one kv group (tp 4 of an 8-head GQA model), two tiles with a tail: a
  // kernel drawing the masks of heads [0, 2) would miss the host by whole dropped probabilities.
  const Device g = test::gpu_device();
  const Case c{2, 70, 2, 1, 32, true, 0.2};
  const Tensor q = test::random_tensor({c.b, c.t, c.hq, c.d}, DType::kF32, 41);
  const Tensor k = test::random_tensor({c.b, c.t, c.hkv, c.d}, DType::kF32, 42);
  const Tensor v = test::random_tensor({c.b, c.t, c.hkv, c.d}, DType::kF32, 43);
  const Tensor dout = test::random_tensor({c.b, c.t, c.hq, c.d}, DType::kF32, 44);
  AttentionParams params;
  params.scale = 0.18;
  params.dropout_p = c.dropout;
  params.seed = 21;
  params.stream = 6;
  params.head_offset = 4;
  params.total_heads = 8;
  const Result cpu = run_host_f64(c, q, k, v, dout, params);
  const Result gpu = run(c, q, k, v, dout, params, g);
  test::expect_gpu_close(gpu.out, cpu.out, test::kAbsTol, test::kRelTol, "head offset out");
  test::expect_gpu_close(gpu.lse, cpu.lse, test::kAbsTol, test::kRelTol, "head offset lse");
  test::expect_gpu_close(gpu.dq, cpu.dq, 5e-5, test::kRelTol, "head offset dq");
  test::expect_gpu_close(gpu.dk, cpu.dk, 5e-5, test::kRelTol, "head offset dk");
  test::expect_gpu_close(gpu.dv, cpu.dv, 5e-5, test::kRelTol, "head offset dv");
}

TEST_CASE("cuda attention is bitwise repeatable") {
  const Device g = test::gpu_device();
  const Case c{2, 200, 6, 2, 80, true, 0.1};
  const Tensor q = test::random_tensor({c.b, c.t, c.hq, c.d}, DType::kF32, 11);
  const Tensor k = test::random_tensor({c.b, c.t, c.hkv, c.d}, DType::kF32, 12);
  const Tensor v = test::random_tensor({c.b, c.t, c.hkv, c.d}, DType::kF32, 13);
  const Tensor dout = test::random_tensor({c.b, c.t, c.hq, c.d}, DType::kF32, 14);
  AttentionParams params;
  params.scale = 0.2;
  params.dropout_p = 0.1;
  params.seed = 3;
  params.document_ids = document_ids(c.b, c.t);
  const Result a = run(c, q, k, v, dout, params, g);
  const Result b = run(c, q, k, v, dout, params, g);
  test::expect_gpu_bitwise(a.out, b.out, "attention out");
  test::expect_gpu_bitwise(a.lse, b.lse, "attention lse");
  test::expect_gpu_bitwise(a.dq, b.dq, "attention dq");
  test::expect_gpu_bitwise(a.dk, b.dk, "attention dk");
  test::expect_gpu_bitwise(a.dv, b.dv, "attention dv");
}

TEST_CASE("cuda split_qkv forward and backward equal the host bitwise") {
  const Device g = test::gpu_device();
  const int64_t b = 2, t = 5, hq = 6, groups = 3, d = 7;
  const int64_t width = groups * (hq / groups + 2) * d;
  const Tensor qkv = test::random_tensor({b, t, width}, DType::kF32, 21);
  Tensor q = Tensor::empty({b, t, hq, d}, DType::kF32);
  Tensor k = Tensor::empty({b, t, groups, d}, DType::kF32);
  Tensor v = Tensor::empty({b, t, groups, d}, DType::kF32);
  Tensor qg = test::poisoned(q.shape(), DType::kF32, g);
  Tensor kg = test::poisoned(k.shape(), DType::kF32, g);
  Tensor vg = test::poisoned(v.shape(), DType::kF32, g);
  split_qkv_forward(qkv, q, k, v);
  split_qkv_forward(test::to_gpu(qkv), qg, kg, vg);
  test::expect_bitwise_equal(qg.to(Device::cpu()), q, "split_qkv q");
  test::expect_bitwise_equal(kg.to(Device::cpu()), k, "split_qkv k");
  test::expect_bitwise_equal(vg.to(Device::cpu()), v, "split_qkv v");

  Tensor dqkv = Tensor::empty(qkv.shape(), DType::kF32);
  Tensor dqkv_g = test::poisoned(qkv.shape(), DType::kF32, g);
  split_qkv_backward(q, k, v, dqkv);
  split_qkv_backward(qg, kg, vg, dqkv_g);
  test::expect_bitwise_equal(dqkv_g.to(Device::cpu()), dqkv, "split_qkv backward");
  test::expect_bitwise_equal(dqkv, qkv, "split_qkv round trip");
}

// The generalised op: one scenario per feature, and whether cuDNN runs its forward and its
// backward (with dbias where there is a bias) in bf16/f16.
struct Scenario {
  const char* name;
  int64_t b, tq, tk, hq, hkv;
  AttentionMask mask;
  int64_t q_offset, kv_offset;
  std::vector<int32_t> kv_lengths;  // (B), or empty
  bool documents;                   // per-query and per-key ids (documents_for)
  int64_t bias_batch;               // Bb, 0 without a bias
  bool cudnn_forward, cudnn_backward;
};

constexpr AttentionMask kCausal = AttentionMask::kCausal;
constexpr AttentionMask kBidirectional = AttentionMask::kBidirectional;

const Scenario kScenarios[] = {
    {"causal", 2, 150, 150, 4, 2, kCausal, 0, 0, {}, false, 0, true, true},
    {"bidirectional", 2, 130, 130, 4, 2, kBidirectional, 0, 0, {}, false, 0, true, true},
    // Sample 2 has no key: its rows give out 0, lse -inf and no gradient.
    {"padding", 3, 100, 100, 4, 2, kBidirectional, 0, 0, {37, 100, 0}, false, 0, true, true},
    {"causal padding", 3, 100, 100, 4, 4, kCausal, 0, 0, {70, 1, 0}, false, 0, true, true},
    {"cross attention Tq 77 Tk 140",
     2,
     77,
     140,
     4,
     2,
     kBidirectional,
     0,
     0,
     {},
     false,
     0,
     true,
     true},
    // A prefill chunk of 70 queries after 80 cached tokens.
    {"causal prefill offset", 2, 70, 150, 4, 1, kCausal, 80, 0, {}, false, 0, true, true},
    // Keys 30 positions after the queries (a context-parallel chunk): rows 0-29 see nothing, which
    // cuDNN's band cannot express.
    {"causal negative shift", 2, 100, 100, 4, 2, kCausal, 0, 30, {}, false, 0, false, false},
    {"bias broadcast over the batch", 2, 90, 120, 4, 2, kCausal, 0, 0, {}, false, 1, true, true},
    // cuDNN's dBias is (1, H, Tq, Tk) only: the backward runs our kernels.
    {"bias per sample", 2, 64, 96, 4, 2, kBidirectional, 0, 0, {}, false, 2, true, false},
    {"documents Tq 80 Tk 150", 2, 80, 150, 4, 2, kCausal, 70, 0, {}, true, 0, false, false},
    {"padding, prefill offset and bias",
     2,
     70,
     130,
     4,
     2,
     kCausal,
     60,
     0,
     {100, 0},
     false,
     1,
     true,
     true},
};

// Document ids by position (query i at q_offset + i, key j at j): documents of 50 positions in
// sample 0, of 37 in sample 1, so boundaries fall inside 64-row tiles.
void add_documents(AttentionParams& p, const Scenario& c) {
  std::vector<int32_t> q_ids, kv_ids;
  for (int64_t bi = 0; bi < c.b; ++bi) {
    const int64_t length = bi == 0 ? 50 : 37;
    for (int64_t i = 0; i < c.tq; ++i)
      q_ids.push_back(static_cast<int32_t>((c.q_offset + i) / length));
    for (int64_t j = 0; j < c.tk; ++j) kv_ids.push_back(static_cast<int32_t>(j / length));
  }
  p.document_ids = Tensor::from_vector(q_ids, {c.b, c.tq});
  p.kv_document_ids = Tensor::from_vector(kv_ids, {c.b, c.tk});
}

// Tolerances per storage type, |gpu - host| <= abs + rel |host| (llm.c's abs + rel eps(dtype)):
// half outputs within a couple of ulps of values of size ~1, gradients (dbias too) of size ~4,
// since they read delta = rowsum(dout * out) of the rounded out (in bf16 that alone moves dbias
// by up to 0.0095 here, in f16 by 0.0016); f32 as the parity tests above.
struct Precision {
  DType dtype;
  const char* name;
  double out_abs, grad_abs, rel;
};
constexpr Precision kPrecisions[] = {{DType::kF32, "f32", 1e-5, 5e-5, 1e-4},
                                     {DType::kBF16, "bf16", 1.0 / 128, 4.0 / 128, 1.0 / 128},
                                     {DType::kF16, "f16", 1.0 / 1024, 4.0 / 1024, 1.0 / 1024}};

struct Grads {
  Tensor dq, dk, dv, dbias;
};

// Which implementation a GPU run goes through.
enum class Path { kDispatcher, kTiled, kCudnn };

void forward_on(Path path, const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out,
                Tensor& lse, const AttentionParams& p) {
  switch (path) {
    case Path::kDispatcher:
      return attention_forward(q, k, v, out, lse, p);
    case Path::kTiled:
      return cuda::attention_forward_tiled(q, k, v, out, lse, p);
    case Path::kCudnn:
      return cuda::cudnn_attention_forward(q, k, v, out, lse, p);
  }
}

// Gradients (NaN-poisoned first, so an element nobody writes fails) through `path`.
Grads backward_on(Path path, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                  const Tensor& lse, const Tensor& dout, const AttentionParams& p) {
  const Device g = q.device();
  Grads r{test::poisoned(q.shape(), q.dtype(), g), test::poisoned(k.shape(), k.dtype(), g),
          test::poisoned(k.shape(), k.dtype(), g),
          p.bias.defined() ? test::poisoned(p.bias.shape(), q.dtype(), g) : Tensor()};
  Tensor* dbias = r.dbias.defined() ? &r.dbias : nullptr;
  switch (path) {
    case Path::kDispatcher:
      attention_backward(q, k, v, out, lse, dout, r.dq, r.dk, r.dv, p, dbias);
      break;
    case Path::kTiled:
      cuda::attention_backward_tiled(q, k, v, out, lse, dout, r.dq, r.dk, r.dv, p, dbias);
      break;
    case Path::kCudnn:
      cuda::cudnn_attention_backward(q, k, v, out, lse, dout, r.dq, r.dk, r.dv, p, dbias);
      break;
  }
  return r;
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  const Tensor ha = a.to(Device::cpu()), hb = b.to(Device::cpu());
  return std::memcmp(ha.raw_data(), hb.raw_data(), ha.nbytes()) == 0;
}

void expect_grads_bitwise(const Grads& a, const Grads& b, const std::string& what) {
  test::expect_gpu_bitwise(a.dq, b.dq, what + " dq");
  test::expect_gpu_bitwise(a.dk, b.dk, what + " dk");
  test::expect_gpu_bitwise(a.dv, b.dv, what + " dv");
  if (a.dbias.defined()) test::expect_gpu_bitwise(a.dbias, b.dbias, what + " dbias");
}

// One scenario at one head dim and precision: the host in f64 on the rounded inputs is the
// reference for our tiled kernels and for the dispatcher; the dispatcher's results are bitwise
// those of cuDNN called directly where cuDNN should run (and differ from ours), else bitwise ours.
void check_scenario(const Scenario& c, int64_t d, const Precision& prec) {
  const Device g = test::gpu_device();
  const std::string ctx = fmt::format("{} d {} {}", c.name, d, prec.name);
  const auto rounded = [&](const Shape& shape, uint64_t seed, double scale) {
    return test::random_tensor(shape, DType::kF32, seed, scale).cast(prec.dtype);
  };
  const Tensor q = rounded({c.b, c.tq, c.hq, d}, 51, 1.0),
               k = rounded({c.b, c.tk, c.hkv, d}, 52, 1.0);
  const Tensor v = rounded({c.b, c.tk, c.hkv, d}, 53, 1.0),
               dout = rounded({c.b, c.tq, c.hq, d}, 54, 1.0);
  AttentionParams host;
  host.scale = 1.0 / std::sqrt(static_cast<double>(d));
  host.mask = c.mask;
  host.q_offset = c.q_offset;
  host.kv_offset = c.kv_offset;
  if (!c.kv_lengths.empty()) host.kv_lengths = Tensor::from_vector(c.kv_lengths, {c.b});
  if (c.documents) add_documents(host, c);
  Tensor bias;  // in the storage type; the host reads its exact f64 value
  if (c.bias_batch > 0) {
    bias = rounded({c.bias_batch, c.hq, c.tq, c.tk}, 55, 2.0);
    host.bias = bias.cast(DType::kF64);
  }
  const auto f64 = [](const Tensor& t) { return t.cast(DType::kF64); };
  Tensor out_ref = Tensor::empty(q.shape(), DType::kF64);
  Tensor lse_ref = Tensor::empty({c.b, c.hq, c.tq}, DType::kF64);
  attention_forward(f64(q), f64(k), f64(v), out_ref, lse_ref, host);
  Grads ref{Tensor::empty(q.shape(), DType::kF64), Tensor::empty(k.shape(), DType::kF64),
            Tensor::empty(k.shape(), DType::kF64), Tensor()};
  if (bias.defined()) ref.dbias = Tensor::empty(bias.shape(), DType::kF64);
  attention_backward(f64(q), f64(k), f64(v), out_ref, lse_ref, f64(dout), ref.dq, ref.dk, ref.dv,
                     host, ref.dbias.defined() ? &ref.dbias : nullptr);

  AttentionParams params = params_on(host, g);
  if (bias.defined()) params.bias = bias.to(g);
  const Tensor qg = q.to(g), kg = k.to(g), vg = v.to(g), dg = dout.to(g);
  const auto check_against_host = [&](const Tensor& out, const Tensor& lse, const Grads& gr,
                                      const std::string& what) {
    test::expect_gpu_close(out, out_ref, prec.out_abs, prec.rel, what + " out");
    test::expect_close_allowing_neg_inf(lse.to(Device::cpu()), lse_ref, 1e-4, 1e-5, what + " lse");
    test::expect_gpu_close(gr.dq, ref.dq, prec.grad_abs, prec.rel, what + " dq");
    test::expect_gpu_close(gr.dk, ref.dk, prec.grad_abs, prec.rel, what + " dk");
    test::expect_gpu_close(gr.dv, ref.dv, prec.grad_abs, prec.rel, what + " dv");
    if (bias.defined()) {
      test::expect_gpu_close(gr.dbias, ref.dbias, prec.grad_abs, prec.rel, what + " dbias");
    }
  };
  const auto outputs = [&] {
    return std::pair{test::poisoned(q.shape(), prec.dtype, g),
                     test::poisoned({c.b, c.hq, c.tq}, DType::kF32, g)};
  };

  // Our tiled kernels end to end.
  auto [out_t, lse_t] = outputs();
  forward_on(Path::kTiled, qg, kg, vg, out_t, lse_t, params);
  check_against_host(out_t, lse_t, backward_on(Path::kTiled, qg, kg, vg, out_t, lse_t, dg, params),
                     ctx + " tiled");

  // The dispatcher end to end, and which implementation it ran.
  auto [out, lse] = outputs();
  forward_on(Path::kDispatcher, qg, kg, vg, out, lse, params);
  const Grads grads = backward_on(Path::kDispatcher, qg, kg, vg, out, lse, dg, params);
  check_against_host(out, lse, grads, ctx + " dispatched");
  const bool half = prec.dtype != DType::kF32;
  const bool cudnn_forward = half && c.cudnn_forward, cudnn_backward = half && c.cudnn_backward;
  CHECK_MESSAGE(cuda::cudnn_attention_applies(qg, kg, params) == cudnn_forward, ctx,
                ": cuDNN forward expected ", cudnn_forward);
  CHECK_MESSAGE(cuda::cudnn_attention_applies(qg, kg, params, bias.defined()) == cudnn_backward,
                ctx, ": cuDNN backward expected ", cudnn_backward);
  if (cudnn_forward) {
    auto [out_c, lse_c] = outputs();
    forward_on(Path::kCudnn, qg, kg, vg, out_c, lse_c, params);
    test::expect_gpu_bitwise(out, out_c, ctx + " forward ran cuDNN: out");
    test::expect_gpu_bitwise(lse, lse_c, ctx + " forward ran cuDNN: lse");
    CHECK_MESSAGE(!bitwise_equal(out, out_t), ctx, ": cuDNN's out equals ours bitwise");
  } else {
    test::expect_gpu_bitwise(out, out_t, ctx + " forward ran ours: out");
    test::expect_gpu_bitwise(lse, lse_t, ctx + " forward ran ours: lse");
  }
  // Both backward paths on the dispatcher's forward results.
  const Grads ours = backward_on(Path::kTiled, qg, kg, vg, out, lse, dg, params);
  if (cudnn_backward) {
    expect_grads_bitwise(grads, backward_on(Path::kCudnn, qg, kg, vg, out, lse, dg, params),
                         ctx + " backward ran cuDNN:");
    CHECK_MESSAGE(!bitwise_equal(grads.dq, ours.dq), ctx, ": cuDNN's dq equals ours bitwise");
  } else {
    expect_grads_bitwise(grads, ours, ctx + " backward ran ours:");
  }
}

// Every scenario at head dims 64, 80, 96 and 128 in one precision.
void check_precision(const Precision& prec) {
  for (const int64_t d : {64, 80, 96, 128}) {
    for (const Scenario& c : kScenarios) check_scenario(c, d, prec);
  }
}

TEST_CASE(
    "cuda attention in f32 (our kernels) matches the host for every mask kind, padding, "
    "offset, bias and documents at head dims 64 to 128") {
  check_precision(kPrecisions[0]);
}

TEST_CASE(
    "cuda attention in bf16, our kernels and cuDNN, matches the host for every mask kind, "
    "padding, offset, bias and documents at head dims 64 to 128") {
  check_precision(kPrecisions[1]);
}

TEST_CASE(
    "cuda attention in f16, our kernels and cuDNN, matches the host for every mask kind, "
    "padding, offset, bias and documents at head dims 64 to 128") {
  check_precision(kPrecisions[2]);
}

TEST_CASE("cuda attention on the fused qkv projection reads it in place with every option") {
  // Causal with a prefill offset, padding (one sample without keys) and a broadcast bias with
  // dbias: cuDNN reads q, k, v from qkv and writes dqkv in place; the host splits.
  const Device g = test::gpu_device();
  const int64_t b = 2, t = 130, heads = 4, d = 64;
  for (const Precision& prec : kPrecisions) {
    if (prec.dtype == DType::kF32) continue;  // cuDNN is bf16/f16 only
    const std::string ctx = fmt::format("fused qkv {}", prec.name);
    const Tensor qkv = test::random_tensor({b, t, heads * 3 * d}, DType::kF32, 61).cast(prec.dtype);
    const Tensor dout = test::random_tensor({b, t, heads, d}, DType::kF32, 62).cast(prec.dtype);
    const Tensor bias =
        test::random_tensor({1, heads, t, t}, DType::kF32, 63, 2.0).cast(prec.dtype);
    AttentionParams host;
    host.scale = 1.0 / std::sqrt(static_cast<double>(d));
    host.q_offset = 5;
    host.kv_lengths = Tensor::from_vector<int32_t>({90, 0}, {b});
    host.bias = bias.cast(DType::kF64);
    Tensor out_ref = Tensor::empty({b, t, heads, d}, DType::kF64);
    Tensor lse_ref = Tensor::empty({b, heads, t}, DType::kF64);
    Tensor dqkv_ref = Tensor::empty(qkv.shape(), DType::kF64);
    Tensor dbias_ref = Tensor::empty(bias.shape(), DType::kF64);
    const Tensor qkv64 = qkv.cast(DType::kF64);
    attention_forward_qkv(qkv64, out_ref, lse_ref, host);
    attention_backward_qkv(qkv64, out_ref, lse_ref, dout.cast(DType::kF64), dqkv_ref, host,
                           &dbias_ref);

    AttentionParams params = params_on(host, g);
    params.bias = bias.to(g);
    const Tensor qkv_g = qkv.to(g);
    Tensor out = test::poisoned({b, t, heads, d}, prec.dtype, g);
    Tensor lse = test::poisoned({b, heads, t}, DType::kF32, g);
    CHECK(attention_reads_qkv_in_place(qkv_g, out, params));
    attention_forward_qkv(qkv_g, out, lse, params);
    test::expect_gpu_close(out, out_ref, prec.out_abs, prec.rel, ctx + " out");
    test::expect_close_allowing_neg_inf(lse.to(Device::cpu()), lse_ref, 1e-4, 1e-5, ctx + " lse");
    Tensor dqkv = test::poisoned(qkv.shape(), prec.dtype, g);
    Tensor dbias = test::poisoned(bias.shape(), prec.dtype, g);
    attention_backward_qkv(qkv_g, out, lse, dout.to(g), dqkv, params, &dbias);
    test::expect_gpu_close(dqkv, dqkv_ref, prec.grad_abs, prec.rel, ctx + " dqkv");
    test::expect_gpu_close(dbias, dbias_ref, prec.grad_abs, prec.rel, ctx + " dbias");
  }
}

}  // namespace
}  // namespace me
