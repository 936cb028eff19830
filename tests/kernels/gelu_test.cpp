// GeLU (tanh approximation): values computed by hand from the formula, the f64 finite-difference
// gradient, and f32-vs-f64 agreement.
#include <doctest/doctest.h>

#include "kernels/gelu.h"
#include "tests/support/grad_check.h"

using namespace me;
using me::test::expect_close;
using me::test::random_tensor;

TEST_CASE("gelu matches 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) at known points") {
  // Evaluated with Python's math module from the formula above.
  const Tensor expected =
      Tensor::from_vector<double>({0.8411919906082768, -0.15880800939172324, 2.484915733910001,
                                   -0.0036373920817729943, 0.34571400982514394, 0.0},
                                  {6});
  for (DType dtype : {DType::kF64, DType::kF32}) {
    const Tensor x = Tensor::from_vector<double>({1.0, -1.0, 2.5, -3.0, 0.5, 0.0}, {6}).cast(dtype);
    Tensor y = Tensor::zeros({6}, dtype);
    gelu_forward(x, y);
    const double tol = dtype == DType::kF64 ? 1e-15 : 1e-6;
    expect_close(y, expected, tol, tol, dtype_name(dtype));
  }
}

TEST_CASE("gelu backward matches f64 finite differences") {
  const uint64_t seed = 5;
  const Tensor x = random_tensor({5, 7}, DType::kF64, seed, 4.0);
  const Tensor dy = random_tensor({5, 7}, DType::kF64, seed + 1);
  auto loss = [&] {
    Tensor y = Tensor::zeros(x.shape(), DType::kF64);
    gelu_forward(x, y);
    return me::test::weighted_sum(y, dy);
  };
  Tensor dx = Tensor::zeros(x.shape(), DType::kF64);
  gelu_backward(x, dy, dx);
  me::test::check_gradient(loss, x, dx, {}, "gelu dx seed=5");
}

TEST_CASE("gelu f32 agrees with f64") {
  const Tensor x = random_tensor({3, 101}, DType::kF64, 9, 5.0);
  const Tensor dy = random_tensor({3, 101}, DType::kF64, 10);
  Tensor y64 = Tensor::zeros(x.shape(), DType::kF64), dx64 = y64.clone();
  Tensor y32 = Tensor::zeros(x.shape(), DType::kF32), dx32 = y32.clone();
  gelu_forward(x, y64);
  gelu_backward(x, dy, dx64);
  gelu_forward(x.cast(DType::kF32), y32);
  gelu_backward(x.cast(DType::kF32), dy.cast(DType::kF32), dx32);
  expect_close(y32, y64, 1e-6, 1e-5, "gelu y f32 seed=9");
  expect_close(dx32, dx64, 1e-6, 1e-5, "gelu dx f32 seed=9");
}
