// CUDA LayerNorm forward and backward against the host loops (run in f64): odd widths (tails of
// the warp loop), every width class of the one-pass backward and the unfused path beyond it,
// several row blocks for the weight/bias column sums, accumulation into dweight and dbias, the
// fused residual gradient, and bitwise-repeatable gradients.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "kernels/layernorm.h"
#include "tests/support/gpu_parity.h"
#include "tests/support/grad_check.h"

namespace me {
namespace {

struct Outputs {
  Tensor y, mean, rstd, dx, dweight, dbias;
};

Outputs run(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& dy, const Tensor& dw0,
            const Tensor& db0, Device device, const Tensor& residual_grad = Tensor()) {
  const int64_t n = x.numel() / x.dim(-1);
  auto out = [&](const Shape& s) {
    return device.is_cpu() ? Tensor::empty(s, x.dtype()) : test::poisoned(s, x.dtype(), device);
  };
  Outputs o{out(x.shape()), out({n}), out({n}), out(x.shape()), dw0.to(device), db0.to(device)};
  const Tensor xd = x.to(device), wd = w.to(device), dyd = dy.to(device);
  layernorm_forward(xd, wd, b.to(device), 1e-5, o.y, o.mean, o.rstd);
  layernorm_backward(dyd, xd, wd, o.mean, o.rstd, o.dx, o.dweight, o.dbias,
                     residual_grad.defined() ? residual_grad.to(device) : Tensor());
  return o;
}

TEST_CASE("cuda layernorm matches the host forward and backward") {
  const Device g = test::gpu_device();
  // f32 rows of 4-column packs take the one-pass backward: 96, 200, 400 and 768 columns use 1, 2,
  // 4 and 8 packs per lane (the last with partial 64-row blocks); 77, 33 and 1 columns (no whole
  // packs) and 3000 (too wide) take the unfused path. Each with and without a residual gradient.
  for (const Shape& shape :
       {Shape{3, 7, 77}, Shape{600, 33}, Shape{5, 768}, Shape{2, 1}, Shape{130, 96}, Shape{70, 200},
        Shape{64, 400}, Shape{150, 768}, Shape{70, 3000}})
    for (const bool residual : {false, true}) {
      const std::string ctx = fmt::format("layernorm {} residual {}", shape_str(shape), residual);
      const int64_t c = shape.back();
      const Tensor x = test::random_tensor(shape, DType::kF32, 1, 3.0);
      const Tensor w = test::random_tensor({c}, DType::kF32, 2);
      const Tensor b = test::random_tensor({c}, DType::kF32, 3);
      const Tensor dy = test::random_tensor(shape, DType::kF32, 4);
      const Tensor dw0 = test::random_tensor({c}, DType::kF32, 5);
      const Tensor db0 = test::random_tensor({c}, DType::kF32, 6);
      // The host reference runs in f64 on the same (f32-valued) inputs, so the tolerance only has
      // to cover the GPU's own f32 rounding.
      auto f64 = [](const Tensor& t) { return t.cast(DType::kF64); };
      const Tensor r = residual ? test::random_tensor(shape, DType::kF32, 7) : Tensor();
      const Outputs cpu = run(f64(x), f64(w), f64(b), f64(dy), f64(dw0), f64(db0), Device::cpu(),
                              residual ? f64(r) : Tensor());
      const Outputs gpu = run(x, w, b, dy, dw0, db0, g, r);
      test::expect_gpu_close(gpu.y, cpu.y, test::kAbsTol, test::kRelTol, ctx + " y");
      test::expect_gpu_close(gpu.mean, cpu.mean, test::kAbsTol, test::kRelTol, ctx + " mean");
      test::expect_gpu_close(gpu.rstd, cpu.rstd, test::kAbsTol, test::kRelTol, ctx + " rstd");
      if (c > 1 || residual) {  // with C == 1, x - mean is 0 and the norm's dx is identically 0
        test::expect_gpu_close(gpu.dx, cpu.dx, test::kAbsTol, test::kRelTol, ctx + " dx");
      }
      test::expect_gpu_close(gpu.dweight, cpu.dweight, test::kAbsTol, test::kRelTol,
                             ctx + " dweight +=");
      test::expect_gpu_close(gpu.dbias, cpu.dbias, test::kAbsTol, test::kRelTol, ctx + " dbias +=");
    }
}

TEST_CASE("cuda layernorm backward is bitwise repeatable") {
  const Device g = test::gpu_device();
  const Tensor x = test::random_tensor({700, 65}, DType::kF32, 11);
  const Tensor w = test::random_tensor({65}, DType::kF32, 12);
  const Tensor dy = test::random_tensor({700, 65}, DType::kF32, 13);
  const Tensor zeros = Tensor::zeros({65}, DType::kF32);
  const Outputs a = run(x, w, w, dy, zeros, zeros, g);
  const Outputs b = run(x, w, w, dy, zeros, zeros, g);
  test::expect_gpu_bitwise(a.y, b.y, "layernorm y");
  test::expect_gpu_bitwise(a.dx, b.dx, "layernorm dx");
  test::expect_gpu_bitwise(a.dweight, b.dweight, "layernorm dweight");
  test::expect_gpu_bitwise(a.dbias, b.dbias, "layernorm dbias");
}

}  // namespace
}  // namespace me
