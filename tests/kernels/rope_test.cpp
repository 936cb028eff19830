// RoPE: hand-computed rotations (halves, interleaved, partial), Llama-3.1 inverse frequencies
// against values printed by transformers' _compute_llama3_parameters, relative-position
// invariance, f64 finite-difference gradients and the backward as the inverse rotation.
#include <doctest/doctest.h>

#include <cmath>

#include "kernels/rope.h"
#include "tests/support/grad_check.h"
#include "tests/support/thread_count.h"

using namespace me;
using me::test::expect_close;
using me::test::random_tensor;

namespace {

Tensor rotate(const Tensor& x, const Tensor& positions, const Tensor& inv_freq, bool interleaved) {
  Tensor y = Tensor::zeros(x.shape(), x.dtype());
  rope_forward(x, positions, inv_freq, interleaved, y);
  return y;
}

Tensor freq_tensor(const std::vector<double>& inv_freq, DType dtype = DType::kF64) {
  return Tensor::from_vector(inv_freq, {static_cast<int64_t>(inv_freq.size())}).cast(dtype);
}

}  // namespace

TEST_CASE("rope rotates channel pairs by position times frequency") {
  // One head x = [1, 2, 3, 4, 5, 6], inv_freq [1, 0.1] (R = 4 of D = 6), position 2: angles 2, 0.2.
  const Tensor x = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, {1, 1, 1, 6});
  const Tensor pos = Tensor::from_vector<int32_t>({2}, {1, 1});
  const Tensor f = freq_tensor({1.0, 0.1});
  const double c2 = std::cos(2.0), s2 = std::sin(2.0), c02 = std::cos(0.2), s02 = std::sin(0.2);
  // Halves: pairs (0, 2) at angle 2 and (1, 3) at angle 0.2; channels 4, 5 pass through.
  expect_close(rotate(x, pos, f, false),
               Tensor::from_vector<double>(
                   {1 * c2 - 3 * s2, 2 * c02 - 4 * s02, 3 * c2 + 1 * s2, 4 * c02 + 2 * s02, 5, 6},
                   {1, 1, 1, 6}),
               1e-15, 1e-15, "rope halves");
  // Interleaved: pairs (0, 1) at angle 2 and (2, 3) at angle 0.2.
  expect_close(rotate(x, pos, f, true),
               Tensor::from_vector<double>(
                   {1 * c2 - 2 * s2, 2 * c2 + 1 * s2, 3 * c02 - 4 * s02, 4 * c02 + 3 * s02, 5, 6},
                   {1, 1, 1, 6}),
               1e-15, 1e-15, "rope interleaved");
}

TEST_CASE("rope inverse frequencies match transformers including llama3 scaling") {
  // Printed by transformers 5.24 ROPE_INIT_FUNCTIONS (head_dim 16, theta 10000; it computes
  // in f32, hence the 1e-6 relative tolerance).
  const std::vector<double> plain = {1.0,  0.31622776,   0.1,   0.031622777,
                                     0.01, 0.0031622777, 0.001, 0.00031622777};
  expect_close(freq_tensor(rope_inverse_frequencies(16, 10000.0, std::nullopt)), freq_tensor(plain),
               0, 1e-6, "rope plain");
  RopeScaling scaling;  // factor 8, low 1, high 4, original 8192
  expect_close(freq_tensor(rope_inverse_frequencies(16, 10000.0, scaling)),
               freq_tensor({1.0, 0.3162277638912201, 0.10000000149011612, 0.03162277862429619,
                            0.009999999776482582, 0.003162277862429619, 0.00021360757818911225,
                            3.9528473280370235e-05}),
               0, 1e-6, "rope llama3 original 8192");
  scaling.original_max_position_embeddings = 32;
  expect_close(freq_tensor(rope_inverse_frequencies(16, 10000.0, scaling)),
               freq_tensor({1.0, 0.0958399772644043, 0.012500000186264515, 0.0039528473280370235,
                            0.0012499999720603228, 0.00039528473280370235, 0.0001250000059371814,
                            3.9528473280370235e-05}),
               0, 1e-6, "rope llama3 original 32");
}

TEST_CASE("rope makes q dot k depend only on the position difference") {
  for (bool interleaved : {false, true}) {
    const Tensor q = random_tensor({1, 1, 1, 8}, DType::kF64, 51);
    const Tensor k = random_tensor({1, 1, 1, 8}, DType::kF64, 52);
    const Tensor f = freq_tensor(rope_inverse_frequencies(8, 10000.0, std::nullopt));
    auto score = [&](int32_t i, int32_t j) {
      const Tensor qi = rotate(q, Tensor::from_vector<int32_t>({i}, {1, 1}), f, interleaved);
      const Tensor kj = rotate(k, Tensor::from_vector<int32_t>({j}, {1, 1}), f, interleaved);
      double dot = 0;
      for (int64_t x = 0; x < 8; ++x) dot += qi.data<double>()[x] * kj.data<double>()[x];
      return dot;
    };
    CHECK(score(7, 3) == doctest::Approx(score(104, 100)).epsilon(1e-12));
    CHECK(score(0, 0) == doctest::Approx(score(9, 9)).epsilon(1e-12));
    CHECK(score(7, 3) != doctest::Approx(score(3, 7)).epsilon(1e-6));
  }
}

TEST_CASE("rope backward matches f64 finite differences and inverts the forward") {
  const int64_t B = 2, T = 3, H = 3, D = 10;
  const Tensor pos = Tensor::from_vector<int32_t>({0, 1, 2, 5, 0, 1}, {B, T});      // a reset
  const Tensor f = freq_tensor(rope_inverse_frequencies(8, 100.0, RopeScaling{}));  // 80% of D
  for (bool interleaved : {false, true}) {
    const Tensor x = random_tensor({B, T, H, D}, DType::kF64, 61);
    const Tensor dy = random_tensor({B, T, H, D}, DType::kF64, 62);
    auto loss = [&] { return me::test::weighted_sum(rotate(x, pos, f, interleaved), dy); };
    Tensor dx = Tensor::zeros(x.shape(), DType::kF64);
    rope_backward(dy, pos, f, interleaved, dx);
    me::test::check_gradient(loss, x, dx, {}, "rope dx seed=61");
    Tensor back = rotate(x, pos, f, interleaved);
    rope_backward(back, pos, f, interleaved, back);  // in place
    expect_close(back, x, 1e-14, 1e-14, "rope backward inverts forward");
  }
}

TEST_CASE("rope f32 agrees with f64 and is bitwise identical with 1 and 2 threads") {
  const int64_t B = 2, T = 64, H = 8, D = 32;
  std::vector<int32_t> positions(B * T);
  for (int64_t i = 0; i < B * T; ++i) positions[i] = static_cast<int32_t>(i % T);
  const Tensor pos = Tensor::from_vector(positions, {B, T});
  const auto inv = rope_inverse_frequencies(D, 10000.0, std::nullopt);
  const Tensor x = random_tensor({B, T, H, D}, DType::kF64, 71);
  const Tensor y64 = rotate(x, pos, freq_tensor(inv), false);
  Tensor y32[2];
  for (int threads : {1, 2}) {
    me::test::ScopedThreadCount scoped(threads);
    y32[threads - 1] = rotate(x.cast(DType::kF32), pos, freq_tensor(inv, DType::kF32), false);
  }
  expect_close(y32[0], y64, 1e-5, 1e-5, "rope f32 seed=71");
  me::test::expect_bitwise_equal(y32[0], y32[1], "rope threads");
}

TEST_CASE("rope rejects frequencies wider than the head") {
  const Tensor x = Tensor::zeros({1, 2, 1, 4}, DType::kF32);
  Tensor y = x.clone();
  const Tensor pos = Tensor::zeros({1, 2}, DType::kI32);
  CHECK_THROWS_AS(rope_forward(x, pos, Tensor::zeros({3}, DType::kF32), false, y), InternalError);
}
