// CUDA element-wise ops and reductions against the host loops: bias add and its column-sum
// backward (several row chunks, accumulating), add, add_into, scale, fill, the f64 sum of squares
// and all_finite; reductions must be bitwise repeatable.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "kernels/elementwise.h"
#include "tests/support/gpu_parity.h"
#include "tests/support/grad_check.h"

namespace me {
namespace {

using test::kAbsTol;
using test::kRelTol;

TEST_CASE("cuda add_bias and bias_backward match the host and bias_backward is deterministic") {
  const Tensor y = test::random_tensor({3, 5, 37}, DType::kF32, 1);
  const Tensor bias = test::random_tensor({37}, DType::kF32, 2);
  Tensor y_cpu = y.clone(), y_gpu = test::to_gpu(y);
  add_bias(y_cpu, bias);
  add_bias(y_gpu, test::to_gpu(bias));
  test::expect_gpu_close(y_gpu, y_cpu, kAbsTol, kRelTol, "add_bias");

  // 1000 rows span four 256-row chunks; 70 columns leave a partial 32-column tile.
  const Tensor dy = test::random_tensor({1000, 70}, DType::kF32, 3);
  const Tensor init = test::random_tensor({70}, DType::kF32, 4);
  // Reference in f64 on the same values: a sequential f32 sum of 1000 rows would itself be off by
  // ~sqrt(1000) half-ulps of the partial sums, more than the tolerance should have to absorb.
  Tensor db_cpu = init.cast(DType::kF64), db_gpu = test::to_gpu(init), db_gpu2 = test::to_gpu(init);
  bias_backward(dy.cast(DType::kF64), db_cpu);
  const Tensor dy_gpu = test::to_gpu(dy);
  bias_backward(dy_gpu, db_gpu);
  bias_backward(dy_gpu, db_gpu2);
  test::expect_gpu_close(db_gpu, db_cpu, kAbsTol, kRelTol, "bias_backward accumulates");
  test::expect_gpu_bitwise(db_gpu, db_gpu2, "bias_backward twice");
}

TEST_CASE("cuda add add_into scale and fill match the host on an odd length") {
  const Device g = test::gpu_device();
  const Tensor a = test::random_tensor({1001}, DType::kF32, 5);
  const Tensor b = test::random_tensor({1001}, DType::kF32, 6);
  Tensor out_cpu = Tensor::empty({1001}, DType::kF32);
  Tensor out_gpu = test::poisoned({1001}, DType::kF32, g);
  add(a, b, out_cpu);
  add(test::to_gpu(a), test::to_gpu(b), out_gpu);
  test::expect_gpu_close(out_gpu, out_cpu, 0.0, 0.0, "add");  // one rounding: exact

  Tensor acc_cpu = a.clone(), acc_gpu = test::to_gpu(a);
  add_into(acc_cpu, b);
  add_into(acc_gpu, test::to_gpu(b));
  test::expect_gpu_close(acc_gpu, acc_cpu, 0.0, 0.0, "add_into");

  scale(acc_cpu, 0.37);
  scale(acc_gpu, 0.37);
  test::expect_gpu_close(acc_gpu, acc_cpu, 0.0, 0.0, "scale");

  Tensor f_cpu = Tensor::empty({1001}, DType::kF32);
  Tensor f_gpu = test::poisoned({1001}, DType::kF32, g);
  fill(f_cpu, -2.5);
  fill(f_gpu, -2.5);
  test::expect_gpu_close(f_gpu, f_cpu, 0.0, 0.0, "fill");
}

TEST_CASE("cuda sum_of_squares matches the host in f64 and is bitwise repeatable") {
  for (int64_t n : {1, 255, 257, 300001}) {
    CAPTURE(n);
    const Tensor x = test::random_tensor({n}, DType::kF32, 7 + n);
    const double cpu = sum_of_squares(x);
    const Tensor xg = test::to_gpu(x);
    const double gpu = sum_of_squares(xg);
    // Squares of floats are exact in f64; only the summation order differs.
    CHECK(gpu == doctest::Approx(cpu).epsilon(1e-12));
    CHECK(sum_of_squares(xg) == gpu);
    CHECK(gpu > 0.0);
  }
}

TEST_CASE("cuda all_finite finds a NaN or an infinity anywhere") {
  const Tensor x = test::random_tensor({5003}, DType::kF32, 9);
  CHECK(all_finite(test::to_gpu(x)));
  for (int64_t at : {int64_t{0}, int64_t{2500}, int64_t{5002}}) {
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), INFINITY, -INFINITY}) {
      Tensor y = x.clone();
      y.data<float>()[at] = bad;
      CHECK_MESSAGE(!all_finite(test::to_gpu(y)), "bad value at ", at);
    }
  }
}

}  // namespace
}  // namespace me
