// CUDA dropout against the host loops: both use dropout_keep on the flat index (from a first index)
// and one f32 multiply, so the results are bitwise equal, forward and backward, in place or not.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "kernels/dropout.h"
#include "tests/support/gpu_parity.h"
#include "tests/support/grad_check.h"

namespace me {
namespace {

TEST_CASE("cuda dropout drops exactly the host's elements") {
  const Device g = test::gpu_device();
  const Tensor x = test::random_tensor({10007}, DType::kF32, 1);
  for (double p : {0.0, 0.1, 0.5, 0.9}) {
    const std::string ctx = fmt::format("dropout p {}", p);
    Tensor y_cpu = Tensor::empty(x.shape(), DType::kF32);
    Tensor y_gpu = test::poisoned(x.shape(), DType::kF32, g);
    dropout_forward(x, y_cpu, p, 1234, 77);
    dropout_forward(test::to_gpu(x), y_gpu, p, 1234, 77);
    test::expect_bitwise_equal(y_gpu.to(Device::cpu()), y_cpu, ctx);

    Tensor dx_cpu = Tensor::empty(x.shape(), DType::kF32);
    Tensor dx_gpu = test::to_gpu(x);  // in place: dx aliases dy
    dropout_backward(x, dx_cpu, p, 1234, 77);
    dropout_backward(dx_gpu, dx_gpu, p, 1234, 77);
    test::expect_bitwise_equal(dx_gpu.to(Device::cpu()), dx_cpu, ctx + " backward in place");
  }
}

TEST_CASE("cuda dropout from a first index drops exactly the host's elements") {
  const Device g = test::gpu_device();
  const Tensor x = test::random_tensor({5003}, DType::kF32, 3);
  // 2^32 + 17: the index crosses into Philox's second counter word.
  for (uint64_t first : {uint64_t{12345}, (uint64_t{1} << 32) + 17}) {
    const std::string ctx = fmt::format("dropout first index {}", first);
    Tensor y_cpu = Tensor::empty(x.shape(), DType::kF32);
    Tensor y_gpu = test::poisoned(x.shape(), DType::kF32, g);
    dropout_forward(x, y_cpu, 0.3, 1234, 77, first);
    dropout_forward(test::to_gpu(x), y_gpu, 0.3, 1234, 77, first);
    test::expect_bitwise_equal(y_gpu.to(Device::cpu()), y_cpu, ctx);

    Tensor dx_cpu = Tensor::empty(x.shape(), DType::kF32);
    Tensor dx_gpu = test::to_gpu(x);
    dropout_backward(x, dx_cpu, 0.3, 1234, 77, first);
    dropout_backward(dx_gpu, dx_gpu, 0.3, 1234, 77, first);
    test::expect_bitwise_equal(dx_gpu.to(Device::cpu()), dx_cpu, ctx + " backward in place");
  }
}

TEST_CASE("cuda dropout masks change with the seed and the stream") {
  const Tensor x = test::to_gpu(test::random_tensor({4096}, DType::kF32, 2));
  Tensor a = Tensor::empty(x.shape(), DType::kF32, x.device());
  Tensor b = Tensor::empty(x.shape(), DType::kF32, x.device());
  dropout_forward(x, a, 0.5, 1, 1);
  dropout_forward(x, b, 0.5, 1, 2);
  const auto va = a.to_vector<float>(), vb = b.to_vector<float>();
  int differ = 0;
  for (size_t i = 0; i < va.size(); ++i) differ += (va[i] == 0.0f) != (vb[i] == 0.0f);
  CHECK(differ > 1500);  // independent masks disagree on about half the elements
}

}  // namespace
}  // namespace me
