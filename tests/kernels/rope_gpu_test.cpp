// CUDA RoPE against the host loops (both f32, so both compute the same f32 angle): halves and
// interleaved pairs, a partial rotary dimension, restarted and large positions, in-place calls.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "kernels/rope.h"
#include "tests/support/gpu_parity.h"
#include "tests/support/grad_check.h"

namespace me {
namespace {

Tensor freq_tensor(int64_t rotary_dim, const std::optional<RopeScaling>& scaling) {
  const std::vector<double> f = rope_inverse_frequencies(rotary_dim, 10000.0, scaling);
  return Tensor::from_vector(f, {static_cast<int64_t>(f.size())}).cast(DType::kF32);
}

// Two sequences of 5: positions 0..4, and one restarting after a document end, then reaching 4000
// (the angle range reduction of cosf/sinf far from zero).
Tensor positions() {
  return Tensor::from_vector<int32_t>({0, 1, 2, 3, 4, 3, 4, 0, 1, 4000}, {2, 5});
}

void check_rope(int64_t d, int64_t rotary_dim, const std::optional<RopeScaling>& scaling,
                bool interleaved) {
  const Device g = test::gpu_device();
  const std::string ctx = fmt::format("rope D {} R {} interleaved {}", d, rotary_dim, interleaved);
  const Tensor x = test::random_tensor({2, 5, 3, d}, DType::kF32, 1, 2.0);
  const Tensor dy = test::random_tensor({2, 5, 3, d}, DType::kF32, 2);
  const Tensor pos = positions(), f = freq_tensor(rotary_dim, scaling);
  const Tensor pos_g = test::to_gpu(pos), f_g = test::to_gpu(f);

  Tensor y_cpu = Tensor::empty(x.shape(), DType::kF32);
  rope_forward(x, pos, f, interleaved, y_cpu);
  Tensor y_gpu = test::poisoned(x.shape(), DType::kF32, g);
  rope_forward(test::to_gpu(x), pos_g, f_g, interleaved, y_gpu);
  test::expect_gpu_close(y_gpu, y_cpu, test::kAbsTol, test::kRelTol, ctx + " forward");

  Tensor dx_cpu = Tensor::empty(x.shape(), DType::kF32);
  rope_backward(dy, pos, f, interleaved, dx_cpu);
  Tensor dx_gpu = test::poisoned(x.shape(), DType::kF32, g);
  rope_backward(test::to_gpu(dy), pos_g, f_g, interleaved, dx_gpu);
  test::expect_gpu_close(dx_gpu, dx_cpu, test::kAbsTol, test::kRelTol, ctx + " backward");

  // In place: y is x, then the backward rotates it back to x.
  Tensor inplace = test::to_gpu(x);
  rope_forward(inplace, pos_g, f_g, interleaved, inplace);
  test::expect_gpu_close(inplace, y_cpu, test::kAbsTol, test::kRelTol, ctx + " forward in place");
  rope_backward(inplace, pos_g, f_g, interleaved, inplace);
  test::expect_gpu_close(inplace, x, test::kAbsTol, test::kRelTol, ctx + " backward undoes");
}

TEST_CASE("cuda rope matches the host forward and backward") {
  for (bool interleaved : {false, true}) {
    check_rope(8, 8, std::nullopt, interleaved);
    check_rope(10, 6, std::nullopt, interleaved);  // rotary_percent 0.6: channels 6..9 untouched
    check_rope(64, 32, RopeScaling{}, interleaved);
  }
}

TEST_CASE("cuda rope rejects f64") {
  const Device g = test::gpu_device();
  const Tensor x64 = test::random_tensor({2, 5, 1, 4}, DType::kF64, 3).to(g);
  const Tensor f64 = freq_tensor(4, std::nullopt).cast(DType::kF64).to(g);
  Tensor y64 = Tensor::zeros({2, 5, 1, 4}, DType::kF64, g);
  CHECK_THROWS_WITH_AS(rope_forward(x64, test::to_gpu(positions()), f64, false, y64),
                       doctest::Contains("f64 tensors are not supported"), Error);
}

}  // namespace
}  // namespace me
