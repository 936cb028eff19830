// Test support for op and module checks: seeded random tensors, a tolerance comparison that
// refuses all-zero references and prints what failed, and a float64 central-difference checker.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "engine/core/tensor.h"

namespace me::test {

// Uniform in [-scale, scale) from Philox(seed, index), cast to dtype (any float dtype). The same
// seed gives the same values in every dtype up to rounding, so f32 and f64 runs can be compared.
Tensor random_tensor(const Shape& shape, DType dtype, uint64_t seed, double scale = 1.0);
// i32 ids uniform in [0, vocab).
Tensor random_ids(const Shape& shape, int64_t vocab, uint64_t seed);

// Element-wise |actual - expected| <= abs_tol + rel_tol * |expected|, compared in f64 (the two
// may differ in float dtype, shapes must match). Fails when `expected` is all zeros (such a
// comparison proves nothing) or holds a non-finite value. On failure it reports `context` (put
// the op and the seed there), the shape and dtypes, how many elements failed, and the worst one.
void expect_close(const Tensor& actual, const Tensor& expected, double abs_tol, double rel_tol,
                  std::string_view context = "");
// expect_close for results that may hold -inf (the log-sum-exp of an attention row that saw no
// key): where `expected` is -inf, `actual` must be -inf too; the rest is compared as above.
void expect_close_allowing_neg_inf(const Tensor& actual, const Tensor& expected, double abs_tol,
                                   double rel_tol, std::string_view context = "");
// Same shape, dtype and bytes; reports the first differing element.
void expect_bitwise_equal(const Tensor& a, const Tensor& b, std::string_view context = "");

// sum(out * weights) in f64: a scalar loss whose gradient with respect to out is `weights`, so a
// backward pass seeded with dout = weights must reproduce its numeric derivative.
double weighted_sum(const Tensor& out, const Tensor& weights);

struct GradCheckOptions {
  double step = 1e-6;     // central-difference step h
  double abs_tol = 1e-7;  // truncation O(h^2) plus rounding O(eps * |loss| / h)
  double rel_tol = 1e-6;
};

// d loss / d input by central differences (loss(x + h) - loss(x - h)) / 2h, one element at a
// time. `input` must be an f64 host tensor sharing storage with what `loss` reads (capture the
// Tensor in the lambda: copies share storage). Each element is restored after its probe.
Tensor numeric_gradient(const std::function<double()>& loss, const Tensor& input,
                        double step = 1e-6);

// The numeric gradient of `loss` with respect to `input` against `analytic` (expect_close with
// the options' tolerances). Usage, for an op with forward f and backward f_grad:
//   Tensor x = random_tensor({5, 7}, DType::kF64, seed), w = random_tensor({5, 7}, kF64, seed + 1);
//   auto loss = [&] { Tensor y = ...; f(x, y); return weighted_sum(y, w); };
//   Tensor dx = ...; f_grad(x, /*dy=*/w, dx);
//   check_gradient(loss, x, dx, {}, "f dx seed=1");
void check_gradient(const std::function<double()>& loss, const Tensor& input,
                    const Tensor& analytic, const GradCheckOptions& options = {},
                    std::string_view context = "");

}  // namespace me::test
