// Test support for CUDA-vs-CPU parity tests: the device under test, copies, NaN-poisoned outputs
// (so an element a kernel forgets to write fails the comparison) and comparisons of a device
// result with its host reference. Plain C++: the same helpers build without CUDA.
#pragma once

#include <string_view>

#include "engine/core/tensor.h"

namespace me::test {

// cuda:0; the test fails (never passes vacuously) when no CUDA device is visible.
Device gpu_device();
// For `TEST_CASE(name * doctest::skip(fewer_than_two_gpus()))`: multi-GPU cases are reported
// as skipped, not passed, on a machine with one GPU.
bool fewer_than_two_gpus();
// A device copy of a host tensor.
Tensor to_gpu(const Tensor& host);
// A tensor on `device` with every element NaN (float dtypes) or 0x7fffffff (i32).
Tensor poisoned(const Shape& shape, DType dtype, Device device);
// expect_close of a device tensor (copied to the host) against a host reference.
void expect_gpu_close(const Tensor& gpu, const Tensor& cpu, double abs_tol, double rel_tol,
                      std::string_view context);
// Bitwise equality of two device tensors (copied to the host).
void expect_gpu_bitwise(const Tensor& a, const Tensor& b, std::string_view context);

// The f32 tolerance of the parity tests: float kernels that sum in a different order than the
// host loops differ by a few ulps of the largest term.
inline constexpr double kAbsTol = 1e-5;
inline constexpr double kRelTol = 1e-4;

}  // namespace me::test
