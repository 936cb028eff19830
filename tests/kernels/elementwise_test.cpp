// Element-wise ops: bias add and its gradient (finite differences, accumulation), add, scale,
// fill by hand, sum_of_squares exactness and thread independence, all_finite.
#include <doctest/doctest.h>

#include <limits>

#include "kernels/elementwise.h"
#include "tests/support/grad_check.h"
#include "tests/support/thread_count.h"

using namespace me;
using me::test::expect_close;
using me::test::random_tensor;

TEST_CASE("add_bias adds per channel and bias_backward matches finite differences") {
  const Tensor y0 = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor y = y0.clone();
  add_bias(y, Tensor::from_vector<double>({10, 20, 30}, {3}));
  CHECK(y.to_vector<double>() == std::vector<double>{11, 22, 33, 14, 25, 36});

  const uint64_t seed = 4;
  const Tensor x = random_tensor({2, 5, 7}, DType::kF64, seed);
  const Tensor bias = random_tensor({7}, DType::kF64, seed + 1);
  const Tensor dy = random_tensor({2, 5, 7}, DType::kF64, seed + 2);
  auto loss = [&] {
    Tensor out = x.clone();
    add_bias(out, bias);
    return me::test::weighted_sum(out, dy);
  };
  Tensor dbias = Tensor::zeros({7}, DType::kF64);
  bias_backward(dy, dbias);
  me::test::check_gradient(loss, bias, dbias, {}, "bias_backward seed=4");
  // It accumulates: a second call doubles the gradient.
  Tensor twice = dbias.clone();
  bias_backward(dy, twice);
  scale(dbias, 2.0);
  expect_close(twice, dbias, 1e-15, 1e-15, "bias_backward accumulates");
}

TEST_CASE("add, add_into, scale and fill compute what they say") {
  const Tensor a = Tensor::from_vector<float>({1, 2, 3}, {3});
  const Tensor b = Tensor::from_vector<float>({0.5f, -2, 10}, {3});
  Tensor out = Tensor::zeros({3}, DType::kF32);
  add(a, b, out);
  CHECK(out.to_vector<float>() == std::vector<float>{1.5f, 0, 13});
  add_into(out, a);
  CHECK(out.to_vector<float>() == std::vector<float>{2.5f, 2, 16});
  scale(out, -0.5);
  CHECK(out.to_vector<float>() == std::vector<float>{-1.25f, -1, -8});
  fill(out, 3.25);
  CHECK(out.to_vector<float>() == std::vector<float>{3.25f, 3.25f, 3.25f});
  CHECK_THROWS_AS(add(a, Tensor::zeros({4}, DType::kF32), out), InternalError);
}

TEST_CASE("sum_of_squares is exact on integers and independent of the thread count") {
  CHECK(sum_of_squares(Tensor::from_vector<float>({1, 2, 3}, {3})) == 14.0);
  // 100003 values (i % 7) - 3: each of the 14286 full cycles of 7 contributes
  // 9+4+1+0+1+4+9 = 28; the one left over (i % 7 = 0, value -3) adds 9.
  const int64_t n = 100003;
  std::vector<float> values(n);
  for (int64_t i = 0; i < n; ++i) values[i] = static_cast<float>(i % 7 - 3);
  const Tensor x = Tensor::from_vector(values, {n});
  CHECK(sum_of_squares(x) == 28.0 * 14286 + 9.0);
  CHECK(sum_of_squares(x.cast(DType::kF64)) == 28.0 * 14286 + 9.0);

  const Tensor r = random_tensor({n}, DType::kF32, 17);
  double one = 0, two = 0;
  {
    me::test::ScopedThreadCount threads(1);
    one = sum_of_squares(r);
  }
  {
    me::test::ScopedThreadCount threads(2);
    two = sum_of_squares(r);
  }
  CHECK(one == two);
  CHECK(one == doctest::Approx(n / 3.0).epsilon(0.02));  // E[u^2] = 1/3 for u ~ U(-1, 1)
}

TEST_CASE("all_finite finds NaN and infinity") {
  Tensor x = random_tensor({1000}, DType::kF32, 8);
  CHECK(all_finite(x));
  x.data<float>()[777] = std::numeric_limits<float>::quiet_NaN();
  CHECK_FALSE(all_finite(x));
  Tensor y = random_tensor({10}, DType::kF64, 8);
  y.data<double>()[9] = -std::numeric_limits<double>::infinity();
  CHECK_FALSE(all_finite(y));
}
