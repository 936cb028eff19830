// SwiGLU: hand-computed values in Megatron's [gate | up] layout, f64 finite-difference gradients
// and thread-count determinism.
#include <doctest/doctest.h>

#include "kernels/swiglu.h"
#include "tests/support/grad_check.h"
#include "tests/support/thread_count.h"

using namespace me;
using me::test::expect_close;
using me::test::random_tensor;

namespace {

Tensor run_forward(const Tensor& x) {
  Shape half = x.shape();
  half.back() /= 2;
  Tensor out = Tensor::zeros(half, x.dtype());
  swiglu_forward(x, out);
  return out;
}

}  // namespace

TEST_CASE("swiglu of gate and up halves matches hand-computed values") {
  // Row [gate 1, 0, -2 | up 2, 5, 3]: silu(1) = 1/(1+e^-1) = 0.73105857863000490,
  // silu(0) = 0, silu(-2) = -2/(1+e^2) = -0.23840584404423515.
  for (DType dtype : {DType::kF64, DType::kF32}) {
    const Tensor x = Tensor::from_vector<double>({1, 0, -2, 2, 5, 3}, {1, 6}).cast(dtype);
    const double tol = dtype == DType::kF64 ? 1e-15 : 1e-6;
    expect_close(
        run_forward(x),
        Tensor::from_vector<double>({2 * 0.7310585786300049, 0, 3 * -0.23840584404423515}, {1, 3}),
        tol, tol, "swiglu");
  }
}

TEST_CASE("swiglu backward matches f64 finite differences") {
  const Tensor x = random_tensor({3, 5, 14}, DType::kF64, 41, 3.0);
  const Tensor dout = random_tensor({3, 5, 7}, DType::kF64, 42);
  auto loss = [&] { return me::test::weighted_sum(run_forward(x), dout); };
  Tensor dx = Tensor::zeros(x.shape(), DType::kF64);
  swiglu_backward(x, dout, dx);
  me::test::check_gradient(loss, x, dx, {}, "swiglu dx seed=41");
}

TEST_CASE("swiglu is bitwise identical with 1 and 2 threads") {
  const Tensor x = random_tensor({130, 600}, DType::kF32, 43, 3.0);
  const Tensor dout = random_tensor({130, 300}, DType::kF32, 44);
  Tensor out[2], dx[2];
  for (int threads : {1, 2}) {
    me::test::ScopedThreadCount scoped(threads);
    out[threads - 1] = run_forward(x);
    dx[threads - 1] = Tensor::zeros(x.shape(), DType::kF32);
    swiglu_backward(x, dout, dx[threads - 1]);
  }
  me::test::expect_bitwise_equal(out[0], out[1], "swiglu out");
  me::test::expect_bitwise_equal(dx[0], dx[1], "swiglu dx");
}

TEST_CASE("swiglu rejects an odd input width") {
  const Tensor x = Tensor::zeros({2, 5}, DType::kF32);
  Tensor out = Tensor::zeros({2, 2}, DType::kF32);
  CHECK_THROWS_AS(swiglu_forward(x, out), InternalError);
}
