// CUDA SwiGLU forward and backward against the host loops: [gate | up] rows of an odd width, both
// halves of dx written, and the f32-only rejection.
#include <doctest/doctest.h>

#include "kernels/swiglu.h"
#include "tests/support/gpu_parity.h"
#include "tests/support/grad_check.h"

namespace me {
namespace {

TEST_CASE("cuda swiglu forward and backward match the host") {
  const Device g = test::gpu_device();
  // Gate values up to +-8 reach both saturated ends of the sigmoid.
  const Tensor x = test::random_tensor({3, 111, 2 * 37}, DType::kF32, 1, 8.0);
  const Tensor dout = test::random_tensor({3, 111, 37}, DType::kF32, 2);
  Tensor out_cpu = Tensor::empty(dout.shape(), DType::kF32);
  Tensor out_gpu = test::poisoned(dout.shape(), DType::kF32, g);
  swiglu_forward(x, out_cpu);
  swiglu_forward(test::to_gpu(x), out_gpu);
  test::expect_gpu_close(out_gpu, out_cpu, test::kAbsTol, test::kRelTol, "swiglu_forward");

  Tensor dx_cpu = Tensor::empty(x.shape(), DType::kF32);
  Tensor dx_gpu = test::poisoned(x.shape(), DType::kF32, g);
  swiglu_backward(x, dout, dx_cpu);
  swiglu_backward(test::to_gpu(x), test::to_gpu(dout), dx_gpu);
  test::expect_gpu_close(dx_gpu, dx_cpu, test::kAbsTol, test::kRelTol, "swiglu_backward");
}

TEST_CASE("cuda swiglu rejects f64") {
  const Device g = test::gpu_device();
  const Tensor x64 = test::random_tensor({4, 8}, DType::kF64, 3).to(g);
  Tensor out64 = Tensor::zeros({4, 4}, DType::kF64, g);
  CHECK_THROWS_WITH_AS(swiglu_forward(x64, out64), doctest::Contains("f64 tensors are not supported"), Error);
}

}  // namespace
}  // namespace me
