// CUDA GeLU forward and backward against the host loops (tanh approximation).
#include <doctest/doctest.h>

#include "kernels/gelu.h"
#include "tests/support/gpu_parity.h"
#include "tests/support/grad_check.h"

namespace me {
namespace {

TEST_CASE("cuda gelu forward and backward match the host") {
  const Device g = test::gpu_device();
  const Tensor x = test::random_tensor({333, 7}, DType::kF32, 1, 5.0);
  const Tensor dy = test::random_tensor({333, 7}, DType::kF32, 2);
  Tensor y_cpu = Tensor::empty(x.shape(), DType::kF32);
  Tensor y_gpu = test::poisoned(x.shape(), DType::kF32, g);
  gelu_forward(x, y_cpu);
  gelu_forward(test::to_gpu(x), y_gpu);
  test::expect_gpu_close(y_gpu, y_cpu, test::kAbsTol, test::kRelTol, "gelu_forward");

  Tensor dx_cpu = Tensor::empty(x.shape(), DType::kF32);
  Tensor dx_gpu = test::poisoned(x.shape(), DType::kF32, g);
  gelu_backward(x, dy, dx_cpu);
  gelu_backward(test::to_gpu(x), test::to_gpu(dy), dx_gpu);
  test::expect_gpu_close(dx_gpu, dx_cpu, test::kAbsTol, test::kRelTol, "gelu_backward");
}

}  // namespace
}  // namespace me
