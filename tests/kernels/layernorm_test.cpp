// LayerNorm: hand-computed values, f64 finite-difference gradients for x, weight and bias at odd
// shapes, f32-vs-f64 agreement and thread-count determinism.
#include <doctest/doctest.h>

#include <cmath>

#include "kernels/layernorm.h"
#include "tests/support/grad_check.h"
#include "tests/support/thread_count.h"

using namespace me;
using me::test::expect_close;
using me::test::random_tensor;

namespace {

struct LayerNormOut {
  Tensor y, mean, rstd;
};

LayerNormOut run_forward(const Tensor& x, const Tensor& w, const Tensor& b, double eps) {
  const int64_t n = x.numel() / x.dim(-1);
  LayerNormOut o{Tensor::zeros(x.shape(), x.dtype()), Tensor::zeros({n}, x.dtype()),
                 Tensor::zeros({n}, x.dtype())};
  layernorm_forward(x, w, b, eps, o.y, o.mean, o.rstd);
  return o;
}

}  // namespace

TEST_CASE("layernorm of 1 2 3 matches hand-computed values") {
  // mean 2, biased var 2/3, rstd = sqrt(3/2) = 1.224744871391589 (eps 0);
  // y = xhat * [2, 0.5, -1] + [0.1, 0.2, 0.3] with xhat = [-1.2247..., 0, 1.2247...].
  for (DType dtype : {DType::kF64, DType::kF32}) {
    const Tensor x = Tensor::from_vector<double>({1, 2, 3}, {1, 3}).cast(dtype);
    const Tensor w = Tensor::from_vector<double>({2, 0.5, -1}, {3}).cast(dtype);
    const Tensor b = Tensor::from_vector<double>({0.1, 0.2, 0.3}, {3}).cast(dtype);
    const LayerNormOut o = run_forward(x, w, b, 0.0);
    const double r = 1.224744871391589;
    const double tol = dtype == DType::kF64 ? 1e-15 : 1e-6;
    expect_close(o.y, Tensor::from_vector<double>({-2 * r + 0.1, 0.2, -r + 0.3}, {1, 3}), tol, tol,
                 "layernorm y");
    expect_close(o.mean, Tensor::from_vector<double>({2}, {1}), tol, tol, "layernorm mean");
    expect_close(o.rstd, Tensor::from_vector<double>({r}, {1}), tol, tol, "layernorm rstd");
  }
  // eps enters under the square root: var 2/3 + eps 1/3 gives rstd 1.
  const Tensor x = Tensor::from_vector<double>({1, 2, 3}, {1, 3});
  const Tensor ones = Tensor::from_vector<double>({1, 1, 1}, {3});
  const LayerNormOut o = run_forward(x, ones, Tensor::zeros({3}, DType::kF64), 1.0 / 3.0);
  expect_close(o.y, Tensor::from_vector<double>({-1, 0, 1}, {1, 3}), 1e-15, 1e-15, "eps");
}

TEST_CASE("layernorm backward matches f64 finite differences at odd shapes") {
  const uint64_t seed = 7;
  const double eps = 1e-5;
  const Tensor x = random_tensor({2, 5, 7}, DType::kF64, seed, 2.0);
  const Tensor w = random_tensor({7}, DType::kF64, seed + 1);
  const Tensor b = random_tensor({7}, DType::kF64, seed + 2);
  const Tensor dy = random_tensor({2, 5, 7}, DType::kF64, seed + 3);
  auto loss = [&] { return me::test::weighted_sum(run_forward(x, w, b, eps).y, dy); };
  const LayerNormOut o = run_forward(x, w, b, eps);
  // dweight and dbias accumulate: start them from known values and subtract afterwards.
  const Tensor dw0 = random_tensor({7}, DType::kF64, seed + 4);
  const Tensor db0 = random_tensor({7}, DType::kF64, seed + 5);
  Tensor dx = Tensor::zeros(x.shape(), DType::kF64), dw = dw0.clone(), db = db0.clone();
  layernorm_backward(dy, x, w, o.mean, o.rstd, dx, dw, db);
  for (int64_t j = 0; j < 7; ++j) {
    dw.data<double>()[j] -= dw0.data<double>()[j];
    db.data<double>()[j] -= db0.data<double>()[j];
  }
  me::test::check_gradient(loss, x, dx, {}, "layernorm dx seed=7");
  me::test::check_gradient(loss, w, dw, {}, "layernorm dweight seed=7");
  me::test::check_gradient(loss, b, db, {}, "layernorm dbias seed=7");
}

TEST_CASE("layernorm f32 agrees with f64 at f32 tolerance") {
  const uint64_t seed = 11;
  const Tensor x = random_tensor({13, 130}, DType::kF64, seed, 3.0);
  const Tensor w = random_tensor({130}, DType::kF64, seed + 1);
  const Tensor b = random_tensor({130}, DType::kF64, seed + 2);
  const Tensor dy = random_tensor({13, 130}, DType::kF64, seed + 3);
  const LayerNormOut o64 = run_forward(x, w, b, 1e-5);
  const auto f32 = [](const Tensor& t) { return t.cast(DType::kF32); };
  const LayerNormOut o32 = run_forward(f32(x), f32(w), f32(b), 1e-5);
  expect_close(o32.y, o64.y, 1e-5, 1e-5, "layernorm y f32 seed=11");
  expect_close(o32.rstd, o64.rstd, 1e-5, 1e-5, "layernorm rstd f32 seed=11");
  Tensor dx64 = Tensor::zeros(x.shape(), DType::kF64), dw64 = Tensor::zeros({130}, DType::kF64);
  Tensor db64 = dw64.clone();
  layernorm_backward(dy, x, w, o64.mean, o64.rstd, dx64, dw64, db64);
  Tensor dx32 = Tensor::zeros(x.shape(), DType::kF32), dw32 = Tensor::zeros({130}, DType::kF32);
  Tensor db32 = dw32.clone();
  layernorm_backward(f32(dy), f32(x), f32(w), o32.mean, o32.rstd, dx32, dw32, db32);
  expect_close(dx32, dx64, 1e-5, 1e-4, "layernorm dx f32 seed=11");
  expect_close(dw32, dw64, 1e-5, 1e-4, "layernorm dweight f32 seed=11");
  expect_close(db32, db64, 1e-5, 1e-4, "layernorm dbias f32 seed=11");
}

TEST_CASE("layernorm is bitwise identical with 1 and 2 threads") {
  // 171 x 200 is above kParallelMinWork, so the 2-thread run really splits the rows.
  const Tensor x = random_tensor({171, 200}, DType::kF32, 31, 2.0);
  const Tensor w = random_tensor({200}, DType::kF32, 32);
  const Tensor b = random_tensor({200}, DType::kF32, 33);
  const Tensor dy = random_tensor({171, 200}, DType::kF32, 34);
  std::vector<Tensor> results[2];
  for (int threads : {1, 2}) {
    me::test::ScopedThreadCount scoped(threads);
    const LayerNormOut o = run_forward(x, w, b, 1e-5);
    Tensor dx = Tensor::zeros(x.shape(), DType::kF32), dw = Tensor::zeros({200}, DType::kF32);
    Tensor db = dw.clone();
    layernorm_backward(dy, x, w, o.mean, o.rstd, dx, dw, db);
    results[threads - 1] = {o.y, o.mean, o.rstd, dx, dw, db};
  }
  for (size_t i = 0; i < results[0].size(); ++i) {
    me::test::expect_bitwise_equal(results[0][i], results[1][i], fmt::format("output {}", i));
  }
}

TEST_CASE("layernorm rejects mismatched weight and integer inputs") {
  const Tensor x = Tensor::zeros({2, 3}, DType::kF32);
  Tensor y = x.clone(), mean = Tensor::zeros({2}, DType::kF32), rstd = mean.clone();
  CHECK_THROWS_AS(layernorm_forward(x, Tensor::zeros({4}, DType::kF32),
                                    Tensor::zeros({4}, DType::kF32), 1e-5, y, mean, rstd),
                  InternalError);
  Tensor xi = Tensor::zeros({2, 3}, DType::kI32);
  CHECK_THROWS_AS(layernorm_forward(xi, Tensor::zeros({3}, DType::kF32),
                                    Tensor::zeros({3}, DType::kF32), 1e-5, y, mean, rstd),
                  Error);
}
