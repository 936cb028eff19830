// CUDA attention (flash contract) against the host loops: causal and full, grouped-query heads,
// head dims below, at and above a warp and up to 128, sequences within one 64-row tile and over
// several with a tail, Philox dropout on the probabilities with the host's index rule, per-token
// document ids crossing tile edges, a tensor-parallel rank's heads (the dropout mask drawn at a
// head offset), and the fused-QKV split (bitwise: it only copies).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <vector>

#include "kernels/attention.h"
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

Result run(const Case& c, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& dout,
           AttentionParams params, Device device) {
  if (params.document_ids.defined()) params.document_ids = params.document_ids.to(device);
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
    params.causal = c.causal;
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
    params.causal = c.causal;
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

}  // namespace
}  // namespace me
