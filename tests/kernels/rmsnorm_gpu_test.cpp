// CUDA RMSNorm forward and backward against the host loops (run in f64): odd widths (tails of the
// warp loop), every width class of the one-pass backward and the unfused path beyond it, the
// fused residual gradient, several row blocks for the weight column sum, accumulation into dweight,
// bitwise-repeatable gradients and the f32-only rejection.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "kernels/rmsnorm.h"
#include "tests/support/gpu_parity.h"
#include "tests/support/grad_check.h"

namespace me {
namespace {

struct Outputs {
  Tensor y, rstd, dx, dweight;
};

Outputs run(const Tensor& x, const Tensor& w, const Tensor& dy, const Tensor& dw0, Device device,
            const Tensor& residual_grad = Tensor()) {
  const int64_t n = x.numel() / x.dim(-1);
  auto out = [&](const Shape& s) {
    return device.is_cpu() ? Tensor::empty(s, x.dtype()) : test::poisoned(s, x.dtype(), device);
  };
  Outputs o{out(x.shape()), out({n}), out(x.shape()), dw0.to(device)};
  const Tensor xd = x.to(device), wd = w.to(device);
  rmsnorm_forward(xd, wd, 1e-6, o.y, o.rstd);
  rmsnorm_backward(dy.to(device), xd, wd, o.rstd, o.dx, o.dweight,
                   residual_grad.defined() ? residual_grad.to(device) : Tensor());
  return o;
}

TEST_CASE("cuda rmsnorm matches the host forward and backward") {
  const Device g = test::gpu_device();
  // f32 rows of 4-column packs take the one-pass backward: 96, 200, 400 and 768 columns use 1, 2,
  // 4 and 8 packs per lane (the last with partial 64-row blocks); 77, 33 and 1 columns (no whole
  // packs) and 3000 (too wide) take the unfused path. Each with and without a residual gradient.
  for (const Shape& shape :
       {Shape{3, 7, 77}, Shape{600, 33}, Shape{5, 768}, Shape{2, 1}, Shape{130, 96}, Shape{70, 200},
        Shape{64, 400}, Shape{150, 768}, Shape{70, 3000}})
    for (const bool residual : {false, true}) {
      const std::string ctx = fmt::format("rmsnorm {} residual {}", shape_str(shape), residual);
      const int64_t c = shape.back();
      const Tensor x = test::random_tensor(shape, DType::kF32, 1, 3.0);
      const Tensor w = test::random_tensor({c}, DType::kF32, 2);
      const Tensor dy = test::random_tensor(shape, DType::kF32, 3);
      const Tensor dw0 = test::random_tensor({c}, DType::kF32, 4);
      // The host reference runs in f64 on the same (f32-valued) inputs, so the tolerance only has
      // to cover the GPU's own f32 rounding.
      auto f64 = [](const Tensor& t) { return t.cast(DType::kF64); };
      const Tensor r = residual ? test::random_tensor(shape, DType::kF32, 7) : Tensor();
      const Outputs cpu =
          run(f64(x), f64(w), f64(dy), f64(dw0), Device::cpu(), residual ? f64(r) : Tensor());
      const Outputs gpu = run(x, w, dy, dw0, g, r);
      test::expect_gpu_close(gpu.y, cpu.y, test::kAbsTol, test::kRelTol, ctx + " y");
      test::expect_gpu_close(gpu.rstd, cpu.rstd, test::kAbsTol, test::kRelTol, ctx + " rstd");
      test::expect_gpu_close(gpu.dx, cpu.dx, test::kAbsTol, test::kRelTol, ctx + " dx");
      test::expect_gpu_close(gpu.dweight, cpu.dweight, test::kAbsTol, test::kRelTol,
                             ctx + " dweight +=");
    }
}

TEST_CASE("cuda rmsnorm backward is bitwise repeatable and rejects f64") {
  const Device g = test::gpu_device();
  const Tensor x = test::random_tensor({700, 65}, DType::kF32, 11);
  const Tensor w = test::random_tensor({65}, DType::kF32, 12);
  const Tensor dy = test::random_tensor({700, 65}, DType::kF32, 13);
  const Tensor zeros = Tensor::zeros({65}, DType::kF32);
  const Outputs a = run(x, w, dy, zeros, g);
  const Outputs b = run(x, w, dy, zeros, g);
  test::expect_gpu_bitwise(a.y, b.y, "rmsnorm y");
  test::expect_gpu_bitwise(a.dx, b.dx, "rmsnorm dx");
  test::expect_gpu_bitwise(a.dweight, b.dweight, "rmsnorm dweight");

  const Tensor x64 = test::random_tensor({4, 8}, DType::kF64, 14).to(g);
  const Tensor w64 = test::random_tensor({8}, DType::kF64, 15).to(g);
  Tensor y64 = Tensor::zeros({4, 8}, DType::kF64, g), rstd64 = Tensor::zeros({4}, DType::kF64, g);
  CHECK_THROWS_WITH_AS(rmsnorm_forward(x64, w64, 1e-6, y64, rstd64),
                       doctest::Contains("f64 tensors are not supported"), Error);
}

}  // namespace
}  // namespace me
