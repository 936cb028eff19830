// CUDA parity test helpers: device selection, poisoned outputs and host-side comparisons.
#include "tests/support/gpu_parity.h"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "engine/core/allocator.h"
#include "tests/support/grad_check.h"

namespace me::test {

Device gpu_device() {
  REQUIRE_MESSAGE(cuda_available(), "no CUDA device is visible to this GPU test");
  return Device::cuda(0);
}

bool fewer_than_two_gpus() { return !cuda_available() || cuda::device_count() < 2; }

Tensor to_gpu(const Tensor& host) { return host.to(gpu_device()); }

Tensor poisoned(const Shape& shape, DType dtype, Device device) {
  const int64_t n = shape_numel(shape);
  Tensor host;
  if (dtype == DType::kI32) {
    host = Tensor::from_vector(std::vector<int32_t>(static_cast<size_t>(n), 0x7fffffff), shape);
  } else {
    host = Tensor::from_vector(std::vector<double>(static_cast<size_t>(n), std::nan("")), shape)
               .cast(dtype);
  }
  return host.to(device);
}

void expect_gpu_close(const Tensor& gpu, const Tensor& cpu, double abs_tol, double rel_tol,
                      std::string_view context) {
  CHECK_MESSAGE(gpu.device().is_cuda(), context, ": the result under test is not on the GPU");
  expect_close(gpu.to(Device::cpu()), cpu, abs_tol, rel_tol, context);
}

void expect_gpu_bitwise(const Tensor& a, const Tensor& b, std::string_view context) {
  expect_bitwise_equal(a.to(Device::cpu()), b.to(Device::cpu()), context);
}

}  // namespace me::test
