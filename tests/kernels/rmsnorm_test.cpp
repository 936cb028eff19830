// RMSNorm: hand-computed values, f64 finite-difference gradients for x and weight at odd shapes,
// f32-vs-f64 agreement and thread-count determinism.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include "kernels/rmsnorm.h"
#include "tests/support/grad_check.h"
#include "tests/support/thread_count.h"

using namespace me;
using me::test::expect_close;
using me::test::random_tensor;

namespace {

struct RmsNormOut {
  Tensor y, rstd;
};

RmsNormOut run_forward(const Tensor& x, const Tensor& w, double eps) {
  const int64_t n = x.numel() / x.dim(-1);
  RmsNormOut o{Tensor::zeros(x.shape(), x.dtype()), Tensor::zeros({n}, x.dtype())};
  rmsnorm_forward(x, w, eps, o.y, o.rstd);
  return o;
}

}  // namespace

TEST_CASE("rmsnorm of 1 2 3 matches hand-computed values") {
  // mean(x^2) = 14/3, rstd = sqrt(3/14) = 0.46291004988627571 (eps 0); y = x * rstd * [2, .5, -1].
  for (DType dtype : {DType::kF64, DType::kF32}) {
    const Tensor x = Tensor::from_vector<double>({1, 2, 3}, {1, 3}).cast(dtype);
    const Tensor w = Tensor::from_vector<double>({2, 0.5, -1}, {3}).cast(dtype);
    const RmsNormOut o = run_forward(x, w, 0.0);
    const double r = 0.46291004988627571;
    const double tol = dtype == DType::kF64 ? 1e-15 : 1e-6;
    expect_close(o.y, Tensor::from_vector<double>({2 * r, r, -3 * r}, {1, 3}), tol, tol, "y");
    expect_close(o.rstd, Tensor::from_vector<double>({r}, {1}), tol, tol, "rstd");
  }
  // eps enters under the square root: mean(x^2) 14/3 + eps 4/3 gives rstd 1/sqrt(6).
  const Tensor x = Tensor::from_vector<double>({1, 2, 3}, {1, 3});
  const RmsNormOut o = run_forward(x, Tensor::from_vector<double>({1, 1, 1}, {3}), 4.0 / 3.0);
  expect_close(o.rstd, Tensor::from_vector<double>({0.40824829046386302}, {1}), 1e-15, 1e-15,
               "eps");
}

TEST_CASE("rmsnorm backward matches f64 finite differences at odd shapes") {
  const uint64_t seed = 17;
  const Tensor x = random_tensor({2, 5, 7}, DType::kF64, seed, 2.0);
  const Tensor w = random_tensor({7}, DType::kF64, seed + 1);
  const Tensor dy = random_tensor({2, 5, 7}, DType::kF64, seed + 2);
  auto loss = [&] { return me::test::weighted_sum(run_forward(x, w, 1e-5).y, dy); };
  const RmsNormOut o = run_forward(x, w, 1e-5);
  // dweight accumulates: start it from known values and subtract afterwards.
  const Tensor dw0 = random_tensor({7}, DType::kF64, seed + 3);
  Tensor dx = Tensor::zeros(x.shape(), DType::kF64), dw = dw0.clone();
  rmsnorm_backward(dy, x, w, o.rstd, dx, dw);
  for (int64_t j = 0; j < 7; ++j) dw.data<double>()[j] -= dw0.data<double>()[j];
  me::test::check_gradient(loss, x, dx, {}, "rmsnorm dx seed=17");
  me::test::check_gradient(loss, w, dw, {}, "rmsnorm dweight seed=17");
}

TEST_CASE("rmsnorm f32 agrees with f64 and is bitwise identical with 1 and 2 threads") {
  // 171 x 200 is above kParallelMinWork, so the 2-thread run really splits the rows.
  const Tensor x = random_tensor({171, 200}, DType::kF64, 31, 2.0);
  const Tensor w = random_tensor({200}, DType::kF64, 32);
  const Tensor dy = random_tensor({171, 200}, DType::kF64, 33);
  const RmsNormOut o64 = run_forward(x, w, 1e-5);
  Tensor dx64 = Tensor::zeros(x.shape(), DType::kF64), dw64 = Tensor::zeros({200}, DType::kF64);
  rmsnorm_backward(dy, x, w, o64.rstd, dx64, dw64);
  std::vector<Tensor> results[2];
  for (int threads : {1, 2}) {
    me::test::ScopedThreadCount scoped(threads);
    const auto f32 = [](const Tensor& t) { return t.cast(DType::kF32); };
    const RmsNormOut o = run_forward(f32(x), f32(w), 1e-5);
    Tensor dx = Tensor::zeros(x.shape(), DType::kF32), dw = Tensor::zeros({200}, DType::kF32);
    rmsnorm_backward(f32(dy), f32(x), f32(w), o.rstd, dx, dw);
    results[threads - 1] = {o.y, o.rstd, dx, dw};
  }
  expect_close(results[0][0], o64.y, 1e-5, 1e-5, "rmsnorm y f32 seed=31");
  expect_close(results[0][2], dx64, 1e-5, 1e-4, "rmsnorm dx f32 seed=31");
  expect_close(results[0][3], dw64, 1e-4, 1e-4, "rmsnorm dweight f32 seed=31");
  for (size_t i = 0; i < results[0].size(); ++i) {
    me::test::expect_bitwise_equal(results[0][i], results[1][i], fmt::format("output {}", i));
  }
}

TEST_CASE("rmsnorm rejects a mismatched weight and integer inputs") {
  const Tensor x = Tensor::zeros({2, 3}, DType::kF32);
  Tensor y = x.clone(), rstd = Tensor::zeros({2}, DType::kF32);
  CHECK_THROWS_AS(rmsnorm_forward(x, Tensor::zeros({4}, DType::kF32), 1e-5, y, rstd),
                  InternalError);
  const Tensor xi = Tensor::zeros({2, 3}, DType::kI32);
  CHECK_THROWS_AS(rmsnorm_forward(xi, Tensor::zeros({3}, DType::kF32), 1e-5, y, rstd), Error);
}
