// Every CUDA op with bf16 and f16 storage against the host loops in f64 on the same rounded
// inputs: the kernels compute in f32 and round once on store, so outputs in a half dtype must sit
// within a couple of that dtype's ulps of the exact result, and f32 accumulators (statistics,
// parameter gradients) within the same bound. Outputs are NaN-poisoned before each run.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <vector>

#include "kernels/attention.h"
#include "kernels/cross_entropy.h"
#include "kernels/dropout.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/gelu.h"
#include "kernels/layernorm.h"
#include "kernels/matmul.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"
#include "kernels/swiglu.h"
#include "tests/support/gpu_parity.h"
#include "tests/support/grad_check.h"

namespace me {
namespace {

struct Half {
  DType dtype;
  double eps;  // two ulps at 1: bf16 keeps 8 significant bits, f16 11
  const char* name;
};
constexpr Half kHalves[] = {{DType::kBF16, 1.0 / 128, "bf16"}, {DType::kF16, 1.0 / 1024, "f16"}};

// A random input rounded to `dtype`: the GPU operand, and its exact value in f64 for the host.
struct Input {
  Tensor gpu;
  Tensor ref;
};
Input input(const Shape& shape, DType dtype, uint64_t seed, double scale = 1.0) {
  const Tensor rounded = test::random_tensor(shape, DType::kF32, seed, scale).cast(dtype);
  return {test::to_gpu(rounded), rounded.cast(DType::kF64)};
}
Tensor gpu_out(const Shape& shape, DType dtype) {
  return test::poisoned(shape, dtype, test::gpu_device());
}
Tensor host_out(const Shape& shape) { return Tensor::empty(shape, DType::kF64); }

// |gpu - ref| <= eps * (typical + |ref|): `typical` is the size of the values the result is made
// of, so cancellation to near zero is judged against them, not against the tiny difference.
void expect_half(const Tensor& gpu, const Tensor& ref, const Half& h, double typical,
                 std::string_view what) {
  test::expect_gpu_close(gpu, ref, h.eps * typical, h.eps, fmt::format("{} {}", h.name, what));
}

TEST_CASE("half precision matmul writes half outputs and accumulates into f32") {
  for (const Half& h : kHalves) {
    for (const bool trans_b : {false, true}) {
      const int64_t m = 37, k = 200, n = 70;
      const Input a = input({m, k}, h.dtype, 1);
      const Input b = input(trans_b ? Shape{n, k} : Shape{k, n}, h.dtype, 2);
      Tensor c = gpu_out({m, n}, h.dtype);
      Tensor c_ref = host_out({m, n});
      matmul(a.gpu, false, b.gpu, trans_b, c);
      matmul(a.ref, false, b.ref, trans_b, c_ref);
      expect_half(c, c_ref, h, 8.0, fmt::format("matmul trans_b {}", trans_b));
      // Weight-gradient form: f32 C += op(A)^T B with half A and B (the fp32 main grads).
      const Tensor acc0 = test::random_tensor({k, n}, DType::kF32, 3);
      Tensor acc = test::to_gpu(acc0);
      Tensor acc_ref = acc0.cast(DType::kF64);
      const Input dy = input({m, n}, h.dtype, 4);
      matmul(a.gpu, true, dy.gpu, false, acc, 1.0f, 1.0f);
      matmul(a.ref, true, dy.ref, false, acc_ref, 1.0f, 1.0f);
      test::expect_gpu_close(acc, acc_ref, 1e-4, 1e-4, fmt::format("{} matmul into f32", h.name));
    }
  }
}

TEST_CASE("half precision element-wise ops and reductions") {
  for (const Half& h : kHalves) {
    const Shape shape{33, 70};
    const Input x = input(shape, h.dtype, 5), y = input(shape, h.dtype, 6);
    const Input bias = input({70}, h.dtype, 7);
    Tensor sum = gpu_out(shape, h.dtype), sum_ref = host_out(shape);
    add(x.gpu, y.gpu, sum);
    add(x.ref, y.ref, sum_ref);
    expect_half(sum, sum_ref, h, 1.0, "add");
    Tensor biased = x.gpu.clone(), biased_ref = x.ref.clone();
    add_bias(biased, bias.gpu);
    add_bias(biased_ref, bias.ref);
    expect_half(biased, biased_ref, h, 1.0, "add_bias");
    add_into(biased, y.gpu);
    add_into(biased_ref, y.ref);
    scale(biased, -0.75);
    scale(biased_ref, -0.75);
    expect_half(biased, biased_ref, h, 2.0, "add_into then scale");
    const Tensor dbias0 = test::random_tensor({70}, DType::kF32, 8);
    Tensor dbias = test::to_gpu(dbias0), dbias_ref = dbias0.cast(DType::kF64);
    bias_backward(y.gpu, dbias);
    bias_backward(y.ref, dbias_ref);
    test::expect_gpu_close(dbias, dbias_ref, 1e-5, 1e-5, fmt::format("{} bias_backward", h.name));
    CHECK(sum_of_squares(x.gpu) == doctest::Approx(sum_of_squares(x.ref)).epsilon(1e-9));
    CHECK(all_finite(x.gpu));
    // f32 -> half rounds to nearest even, as the host conversion does: bitwise equal.
    const Tensor wide = test::random_tensor(shape, DType::kF32, 9, 3.0);
    Tensor narrow = gpu_out(shape, h.dtype);
    cast_into(test::to_gpu(wide), narrow);
    test::expect_gpu_bitwise(narrow, test::to_gpu(wide.cast(h.dtype)),
                             fmt::format("{} cast_into", h.name));
  }
}

TEST_CASE("half precision gelu swiglu and dropout") {
  for (const Half& h : kHalves) {
    const Shape shape{29, 66};
    const Input x = input(shape, h.dtype, 10, 3.0), dy = input(shape, h.dtype, 11);
    Tensor y = gpu_out(shape, h.dtype), y_ref = host_out(shape);
    gelu_forward(x.gpu, y);
    gelu_forward(x.ref, y_ref);
    expect_half(y, y_ref, h, 1.0, "gelu forward");
    Tensor dx = gpu_out(shape, h.dtype), dx_ref = host_out(shape);
    gelu_backward(x.gpu, dy.gpu, dx);
    gelu_backward(x.ref, dy.ref, dx_ref);
    expect_half(dx, dx_ref, h, 1.0, "gelu backward");

    const Shape half_shape{29, 33};
    const Input dout = input(half_shape, h.dtype, 12);
    Tensor sw = gpu_out(half_shape, h.dtype), sw_ref = host_out(half_shape);
    swiglu_forward(x.gpu, sw);
    swiglu_forward(x.ref, sw_ref);
    expect_half(sw, sw_ref, h, 3.0, "swiglu forward");
    Tensor dsw = gpu_out(shape, h.dtype), dsw_ref = host_out(shape);
    swiglu_backward(x.gpu, dout.gpu, dsw);
    swiglu_backward(x.ref, dout.ref, dsw_ref);
    expect_half(dsw, dsw_ref, h, 3.0, "swiglu backward");

    Tensor dropped = gpu_out(shape, h.dtype), dropped_ref = host_out(shape);
    dropout_forward(x.gpu, dropped, 0.3, 77, 5);
    dropout_forward(x.ref, dropped_ref, 0.3, 77, 5);
    expect_half(dropped, dropped_ref, h, 1.0, "dropout");
  }
}

TEST_CASE("half precision layernorm and rmsnorm keep f32 statistics and gradients") {
  // 77 columns take the unfused backward; 1600 the one-pass kernel (200 packs a row, 7 per lane).
  for (const Half& h : kHalves)
    for (const int64_t c : {int64_t{77}, int64_t{1600}}) {
      CAPTURE(c);
      const int64_t n = 300;
      const Input x = input({n, c}, h.dtype, 13, 2.0), w = input({c}, h.dtype, 14);
      const Input b = input({c}, h.dtype, 15), dy = input({n, c}, h.dtype, 16);
      Tensor y = gpu_out({n, c}, h.dtype), mean = gpu_out({n}, DType::kF32);
      Tensor rstd = gpu_out({n}, DType::kF32);
      Tensor y_ref = host_out({n, c}), mean_ref = host_out({n}), rstd_ref = host_out({n});
      layernorm_forward(x.gpu, w.gpu, b.gpu, 1e-5, y, mean, rstd);
      layernorm_forward(x.ref, w.ref, b.ref, 1e-5, y_ref, mean_ref, rstd_ref);
      expect_half(y, y_ref, h, 2.0, "layernorm y");
      test::expect_gpu_close(mean, mean_ref, 1e-5, 1e-4, fmt::format("{} layernorm mean", h.name));
      test::expect_gpu_close(rstd, rstd_ref, 1e-5, 1e-4, fmt::format("{} layernorm rstd", h.name));
      Tensor dx = gpu_out({n, c}, h.dtype), dx_ref = host_out({n, c});
      Tensor dw = Tensor::zeros({c}, DType::kF32, test::gpu_device()), dw_ref = host_out({c});
      Tensor db = Tensor::zeros({c}, DType::kF32, test::gpu_device()), db_ref = host_out({c});
      dw_ref.zero_();
      db_ref.zero_();
      layernorm_backward(dy.gpu, x.gpu, w.gpu, mean, rstd, dx, dw, db);
      layernorm_backward(dy.ref, x.ref, w.ref, mean_ref, rstd_ref, dx_ref, dw_ref, db_ref);
      expect_half(dx, dx_ref, h, 2.0, "layernorm dx");
      test::expect_gpu_close(dw, dw_ref, 1e-3, 1e-4, fmt::format("{} layernorm dweight", h.name));
      test::expect_gpu_close(db, db_ref, 1e-3, 1e-4, fmt::format("{} layernorm dbias", h.name));

      Tensor ry = gpu_out({n, c}, h.dtype), rr = gpu_out({n}, DType::kF32);
      Tensor ry_ref = host_out({n, c}), rr_ref = host_out({n});
      rmsnorm_forward(x.gpu, w.gpu, 1e-6, ry, rr);
      rmsnorm_forward(x.ref, w.ref, 1e-6, ry_ref, rr_ref);
      expect_half(ry, ry_ref, h, 2.0, "rmsnorm y");
      Tensor rdx = gpu_out({n, c}, h.dtype), rdx_ref = host_out({n, c});
      Tensor rdw = Tensor::zeros({c}, DType::kF32, test::gpu_device()), rdw_ref = host_out({c});
      rdw_ref.zero_();
      rmsnorm_backward(dy.gpu, x.gpu, w.gpu, rr, rdx, rdw);
      rmsnorm_backward(dy.ref, x.ref, w.ref, rr_ref, rdx_ref, rdw_ref);
      expect_half(rdx, rdx_ref, h, 2.0, "rmsnorm dx");
      test::expect_gpu_close(rdw, rdw_ref, 1e-3, 1e-4, fmt::format("{} rmsnorm dweight", h.name));
    }
}

// The residual add fused in front of the norms: the sum is written (rounded to the half dtype,
// what add() stores) and normalised in the same pass. The host adds in f64 without rounding, so
// the outputs may differ by the sum's one rounding: within the two-ulp bound.
TEST_CASE("half precision add_layernorm and add_rmsnorm write the residual sum and its norm") {
  for (const Half& h : kHalves) {
    const int64_t n = 70, c = 200;
    const Input x = input({n, c}, h.dtype, 30, 2.0), r = input({n, c}, h.dtype, 31, 2.0);
    const Input w = input({c}, h.dtype, 32), b = input({c}, h.dtype, 33);
    Tensor added = gpu_out({n, c}, h.dtype), y = gpu_out({n, c}, h.dtype);
    Tensor mean = gpu_out({n}, DType::kF32), rstd = gpu_out({n}, DType::kF32);
    Tensor added_ref = host_out({n, c}), y_ref = host_out({n, c});
    Tensor mean_ref = host_out({n}), rstd_ref = host_out({n});
    add_layernorm_forward(x.gpu, r.gpu, w.gpu, b.gpu, 1e-5, added, y, mean, rstd);
    add_layernorm_forward(x.ref, r.ref, w.ref, b.ref, 1e-5, added_ref, y_ref, mean_ref, rstd_ref);
    expect_half(added, added_ref, h, 4.0, "add_layernorm sum");
    expect_half(y, y_ref, h, 2.0, "add_layernorm y");
    test::expect_gpu_close(mean, mean_ref, h.eps, 1e-3,
                           fmt::format("{} add_layernorm mean", h.name));
    test::expect_gpu_close(rstd, rstd_ref, 1e-5, h.eps,
                           fmt::format("{} add_layernorm rstd", h.name));

    Tensor radded = gpu_out({n, c}, h.dtype), ry = gpu_out({n, c}, h.dtype);
    Tensor rr = gpu_out({n}, DType::kF32);
    Tensor radded_ref = host_out({n, c}), ry_ref = host_out({n, c}), rr_ref = host_out({n});
    add_rmsnorm_forward(x.gpu, r.gpu, w.gpu, 1e-6, radded, ry, rr);
    add_rmsnorm_forward(x.ref, r.ref, w.ref, 1e-6, radded_ref, ry_ref, rr_ref);
    expect_half(radded, radded_ref, h, 4.0, "add_rmsnorm sum");
    expect_half(ry, ry_ref, h, 2.0, "add_rmsnorm y");
    test::expect_gpu_close(rr, rr_ref, 1e-5, h.eps, fmt::format("{} add_rmsnorm rstd", h.name));
  }
}

TEST_CASE("half precision rope embedding and cross entropy") {
  for (const Half& h : kHalves) {
    const Shape shape{2, 21, 3, 40};
    const Input x = input(shape, h.dtype, 17);
    std::vector<int32_t> positions;
    for (int i = 0; i < 42; ++i) positions.push_back(i % 21 * 37);
    const Tensor pos = Tensor::from_vector(positions, {2, 21});
    const std::vector<double> freqs = rope_inverse_frequencies(32, 10000.0, std::nullopt);
    const Tensor inv_freq = Tensor::from_vector(freqs, {16});
    Tensor y = gpu_out(shape, h.dtype), y_ref = host_out(shape);
    rope_forward(x.gpu, test::to_gpu(pos), test::to_gpu(inv_freq.cast(DType::kF32)), false, y);
    rope_forward(x.ref, pos, inv_freq, false, y_ref);
    expect_half(y, y_ref, h, 1.0, "rope forward");

    const int64_t vocab = 50, dim = 24, tokens = 70;
    const Tensor ids = test::random_ids({tokens}, vocab, 18);
    const Input table = input({vocab, dim}, h.dtype, 19);
    Tensor rows = gpu_out({tokens, dim}, h.dtype), rows_ref = host_out({tokens, dim});
    embedding_forward(test::to_gpu(ids), table.gpu, rows);
    embedding_forward(ids, table.ref, rows_ref);
    expect_half(rows, rows_ref, h, 1.0, "embedding forward");
    const Input drows = input({tokens, dim}, h.dtype, 20);
    Tensor dtable = Tensor::zeros({vocab, dim}, DType::kF32, test::gpu_device());
    Tensor dtable_ref = host_out({vocab, dim});
    dtable_ref.zero_();
    embedding_backward(test::to_gpu(ids), drows.gpu, dtable);
    embedding_backward(ids, drows.ref, dtable_ref);
    test::expect_gpu_close(dtable, dtable_ref, 1e-6, 1e-6,
                           fmt::format("{} embedding backward into f32", h.name));

    const int64_t n = 40, v = 1000;
    const Input logits = input({n, v}, h.dtype, 21, 4.0);
    const Tensor targets = test::random_ids({n}, v, 22);
    Tensor losses = gpu_out({n}, DType::kF32), lse = gpu_out({n}, DType::kF32);
    Tensor losses_ref = host_out({n}), lse_ref = host_out({n});
    cross_entropy_forward(logits.gpu, test::to_gpu(targets), losses, lse);
    cross_entropy_forward(logits.ref, targets, losses_ref, lse_ref);
    test::expect_gpu_close(losses, losses_ref, 1e-4, 1e-5, fmt::format("{} ce losses", h.name));
    const Tensor dlosses = test::random_tensor({n}, DType::kF32, 23);
    Tensor dlogits = gpu_out({n, v}, h.dtype), dlogits_ref = host_out({n, v});
    cross_entropy_backward(logits.gpu, test::to_gpu(targets), lse, test::to_gpu(dlosses), dlogits);
    cross_entropy_backward(logits.ref, targets, lse_ref, dlosses.cast(DType::kF64), dlogits_ref);
    expect_half(dlogits, dlogits_ref, h, 0.01, "ce dlogits");
  }
}

TEST_CASE("half precision attention forward and backward") {
  for (const Half& h : kHalves) {
    for (const int64_t d : {64, 80, 96, 128}) {
      const int64_t b = 2, t = 150, hq = 4, hkv = 2;
      const Input q = input({b, t, hq, d}, h.dtype, 24), k = input({b, t, hkv, d}, h.dtype, 25);
      const Input v = input({b, t, hkv, d}, h.dtype, 26), dout = input({b, t, hq, d}, h.dtype, 27);
      AttentionParams params;
      params.scale = 1.0 / std::sqrt(static_cast<double>(d));
      Tensor out = gpu_out(q.gpu.shape(), h.dtype), lse = gpu_out({b, hq, t}, DType::kF32);
      Tensor out_ref = host_out(q.gpu.shape()), lse_ref = host_out({b, hq, t});
      attention_forward(q.gpu, k.gpu, v.gpu, out, lse, params);
      attention_forward(q.ref, k.ref, v.ref, out_ref, lse_ref, params);
      const std::string what = fmt::format("attention d {}", d);
      expect_half(out, out_ref, h, 1.0, what + " out");
      test::expect_gpu_close(lse, lse_ref, 1e-4, 1e-5, fmt::format("{} {} lse", h.name, what));
      Tensor dq = gpu_out(q.gpu.shape(), h.dtype), dk = gpu_out(k.gpu.shape(), h.dtype);
      Tensor dv = gpu_out(k.gpu.shape(), h.dtype);
      Tensor dq_ref = host_out(q.gpu.shape()), dk_ref = host_out(k.gpu.shape());
      Tensor dv_ref = host_out(k.gpu.shape());
      attention_backward(q.gpu, k.gpu, v.gpu, out, lse, dout.gpu, dq, dk, dv, params);
      attention_backward(q.ref, k.ref, v.ref, out_ref, lse_ref, dout.ref, dq_ref, dk_ref, dv_ref,
                         params);
      // The GPU's delta = rowsum(dout * out) reads the rounded out, so allow a few more ulps.
      expect_half(dq, dq_ref, h, 4.0, what + " dq");
      expect_half(dk, dk_ref, h, 4.0, what + " dk");
      expect_half(dv, dv_ref, h, 4.0, what + " dv");
    }
  }
}

// Multi-head attention straight from the fused projection (cuDNN reads q, k and v in place and
// writes dqkv in the same layout) against the host's split + attention.
TEST_CASE("half precision attention on the fused qkv projection") {
  for (const Half& h : kHalves) {
    const int64_t b = 2, t = 130, heads = 4, d = 64;
    const Input qkv = input({b, t, heads * 3 * d}, h.dtype, 28);
    const Input dout = input({b, t, heads, d}, h.dtype, 29);
    AttentionParams params;
    params.scale = 1.0 / std::sqrt(static_cast<double>(d));
    Tensor out = gpu_out({b, t, heads, d}, h.dtype), lse = gpu_out({b, heads, t}, DType::kF32);
    Tensor out_ref = host_out({b, t, heads, d}), lse_ref = host_out({b, heads, t});
    attention_forward_qkv(qkv.gpu, out, lse, params);
    attention_forward_qkv(qkv.ref, out_ref, lse_ref, params);
    expect_half(out, out_ref, h, 1.0, "fused qkv attention out");
    test::expect_gpu_close(lse, lse_ref, 1e-4, 1e-5, fmt::format("{} fused qkv lse", h.name));
    Tensor dqkv = gpu_out(qkv.gpu.shape(), h.dtype), dqkv_ref = host_out(qkv.gpu.shape());
    attention_backward_qkv(qkv.gpu, out, lse, dout.gpu, dqkv, params);
    attention_backward_qkv(qkv.ref, out_ref, lse_ref, dout.ref, dqkv_ref, params);
    expect_half(dqkv, dqkv_ref, h, 4.0, "fused qkv attention dqkv");
  }
}

}  // namespace
}  // namespace me
