// The fused linear ops on CUDA (cuBLASLt epilogues, or the unfused fallback for shapes the
// epilogues refuse) against the host reference in f64 on the same rounded inputs: f32 within the
// parity tolerance, bf16 within two ulps of the result's scale. Outputs are NaN-poisoned; the
// accumulating gradients start from random values so a write in place of an add fails.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>

#include "kernels/linear.h"
#include "tests/support/gpu_parity.h"
#include "tests/support/grad_check.h"

namespace me {
namespace {

struct Precision {
  DType dtype;
  double rel;  // relative tolerance of one rounding of the output
  const char* name;
};
constexpr Precision kPrecisions[] = {{DType::kF32, 1e-4, "f32"}, {DType::kBF16, 1.0 / 128, "bf16"}};

struct Input {
  Tensor gpu;
  Tensor ref;  // the same values in f64
};
Input input(const Shape& shape, DType dtype, uint64_t seed, double scale = 1.0) {
  const Tensor rounded = test::random_tensor(shape, DType::kF32, seed, scale).cast(dtype);
  return {test::to_gpu(rounded), rounded.cast(DType::kF64)};
}

// Results are sums of K products of values ~1, so their typical size is sqrt(K).
void expect_near(const Tensor& gpu, const Tensor& ref, const Precision& p, double typical,
                 const std::string& what) {
  test::expect_gpu_close(gpu, ref, p.rel * typical, p.rel, fmt::format("{} {}", p.name, what));
}

struct Shape3 {
  int64_t n, k, m;
};
// Multiples of 8 take the epilogues; 37 output or input features fall back for the GeLU ops.
constexpr Shape3 kShapes[] = {{64, 96, 128}, {33, 40, 37}, {50, 37, 64}};

TEST_CASE("cuda linear_forward with and without bias matches the host") {
  for (const Precision& p : kPrecisions) {
    for (const Shape3& s : kShapes) {
      for (const bool with_bias : {true, false}) {
        CAPTURE(p.name);
        CAPTURE(s.m);
        CAPTURE(with_bias);
        const Input x = input({s.n, s.k}, p.dtype, 1), w = input({s.m, s.k}, p.dtype, 2);
        const Input b = input({s.m}, p.dtype, 3);
        Tensor y = test::poisoned({s.n, s.m}, p.dtype, test::gpu_device());
        Tensor y_ref = Tensor::empty({s.n, s.m}, DType::kF64);
        linear_forward(x.gpu, w.gpu, with_bias ? b.gpu : Tensor(), y);
        linear_forward(x.ref, w.ref, with_bias ? b.ref : Tensor(), y_ref);
        expect_near(y, y_ref, p, std::sqrt(double(s.k)), "linear_forward");
      }
    }
  }
}

TEST_CASE("cuda linear_gelu_forward keeps the gelu input and matches the host") {
  for (const Precision& p : kPrecisions) {
    for (const Shape3& s : kShapes) {
      CAPTURE(p.name);
      CAPTURE(s.m);
      const Input x = input({s.n, s.k}, p.dtype, 4), w = input({s.m, s.k}, p.dtype, 5);
      const Input b = input({s.m}, p.dtype, 6);
      Tensor pre = test::poisoned({s.n, s.m}, p.dtype, test::gpu_device());
      Tensor y = test::poisoned({s.n, s.m}, p.dtype, test::gpu_device());
      Tensor pre_ref = Tensor::empty({s.n, s.m}, DType::kF64);
      Tensor y_ref = Tensor::empty({s.n, s.m}, DType::kF64);
      linear_gelu_forward(x.gpu, w.gpu, b.gpu, pre, y);
      linear_gelu_forward(x.ref, w.ref, b.ref, pre_ref, y_ref);
      expect_near(pre, pre_ref, p, std::sqrt(double(s.k)), "gelu input");
      expect_near(y, y_ref, p, std::sqrt(double(s.k)), "gelu output");
    }
  }
}

TEST_CASE("cuda linear_gelu_backward_input applies the gelu derivative like the host") {
  for (const Precision& p : kPrecisions) {
    for (const Shape3& s : kShapes) {
      CAPTURE(p.name);
      CAPTURE(s.k);
      // dy (N, M), w (M, K), pre (N, K): the input side of a linear whose input was gelu(pre).
      const Input dy = input({s.n, s.m}, p.dtype, 7), w = input({s.m, s.k}, p.dtype, 8);
      const Input pre = input({s.n, s.k}, p.dtype, 9, 3.0);
      Tensor dx = test::poisoned({s.n, s.k}, p.dtype, test::gpu_device());
      Tensor dx_ref = Tensor::empty({s.n, s.k}, DType::kF64);
      linear_gelu_backward_input(dy.gpu, w.gpu, pre.gpu, dx);
      linear_gelu_backward_input(dy.ref, w.ref, pre.ref, dx_ref);
      expect_near(dx, dx_ref, p, std::sqrt(double(s.m)), "gelu input gradient");
    }
  }
}

TEST_CASE("cuda linear_backward_weight accumulates the weight and bias gradients") {
  for (const Precision& p : kPrecisions) {
    for (const Shape3& s : kShapes) {
      for (const bool with_bias : {true, false}) {
        CAPTURE(p.name);
        CAPTURE(s.m);
        CAPTURE(with_bias);
        const Input dy = input({s.n, s.m}, p.dtype, 10), x = input({s.n, s.k}, p.dtype, 11);
        const Tensor dw0 = test::random_tensor({s.m, s.k}, DType::kF32, 12);
        const Tensor db0 = test::random_tensor({s.m}, DType::kF32, 13);
        Tensor dw = test::to_gpu(dw0), db = test::to_gpu(db0);
        Tensor dw_ref = dw0.cast(DType::kF64), db_ref = db0.cast(DType::kF64);
        Tensor no_bias, no_bias_ref;
        linear_backward_weight(dy.gpu, x.gpu, dw, with_bias ? db : no_bias);
        linear_backward_weight(dy.ref, x.ref, dw_ref, with_bias ? db_ref : no_bias_ref);
        // The gradients are f32 accumulators: one f32 rounding of sums over N rows.
        const Precision f32 = kPrecisions[0];
        expect_near(dw, dw_ref, f32, std::sqrt(double(s.n)), "weight gradient");
        if (with_bias) {
          expect_near(db, db_ref, f32, std::sqrt(double(s.n)), "bias gradient");
        } else {
          test::expect_gpu_close(db, db0, 0.0, 0.0, "untouched bias gradient");
        }
      }
    }
  }
}

}  // namespace
}  // namespace me
