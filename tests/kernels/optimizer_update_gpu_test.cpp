// CUDA AdamW and SGD against the host loops over several steps (the GPU may contract a*b+c into
// FMAs, so results agree to f32 tolerance, not bitwise), on a view into a larger buffer as the
// optimizers use them.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <vector>

#include "kernels/optimizer_update.h"
#include "tests/support/gpu_parity.h"
#include "tests/support/grad_check.h"

namespace me {
namespace {

TEST_CASE("cuda adamw_update matches the host over three steps on a buffer view") {
  const int64_t n = 1001, offset = 13;
  Tensor p_cpu = test::random_tensor({n + offset}, DType::kF32, 1);
  Tensor m_cpu = Tensor::zeros({n}, DType::kF32), v_cpu = Tensor::zeros({n}, DType::kF32);
  Tensor p_gpu = test::to_gpu(p_cpu);
  Tensor m_gpu = test::to_gpu(m_cpu), v_gpu = test::to_gpu(v_cpu);
  for (int64_t step = 1; step <= 3; ++step) {
    const Tensor grad = test::random_tensor({n}, DType::kF32, 10 + step, 0.1);
    const AdamWStep s{1e-3, 0.9, 0.95, 1e-8, 0.1, step};
    Tensor pv_cpu = p_cpu.view(offset, {n}), pv_gpu = p_gpu.view(offset, {n});
    adamw_update(pv_cpu, grad, m_cpu, v_cpu, s);
    adamw_update(pv_gpu, test::to_gpu(grad), m_gpu, v_gpu, s);
    const std::string ctx = fmt::format("adamw step {}", step);
    test::expect_gpu_close(p_gpu, p_cpu, 1e-6, 1e-5, ctx + " param");
    test::expect_gpu_close(m_gpu, m_cpu, 1e-8, 1e-5, ctx + " exp_avg");
    test::expect_gpu_close(v_gpu, v_cpu, 1e-10, 1e-5, ctx + " exp_avg_sq");
  }
}

TEST_CASE("cuda adamw_update_chunks matches the host over ranges with and without decay") {
  // Three ranges with a gap (padding the update skips), state shifted against the parameters,
  // chunks of 100 so ranges split unevenly; unwritten elements would keep their NaN poison.
  const std::vector<UpdateRange> ranges = {
      {0, 250, 10, true}, {256, 300, 266, false}, {300, 1001, 310, true}};
  const int64_t n = 1001, state = 1011;
  Tensor p_cpu = test::random_tensor({n}, DType::kF32, 3);
  Tensor m_cpu = test::random_tensor({state}, DType::kF32, 4, 0.01);
  Tensor v_cpu = test::random_tensor({state}, DType::kF32, 5, 0.001);
  std::vector<float> abs_v = v_cpu.to_vector<float>();
  for (float& x : abs_v) x = std::abs(x);
  v_cpu = Tensor::from_vector(abs_v, {state});
  Tensor p_gpu = test::to_gpu(p_cpu), m_gpu = test::to_gpu(m_cpu), v_gpu = test::to_gpu(v_cpu);
  const Tensor table_cpu = adamw_chunk_table(ranges, Device::cpu(), 100);
  const Tensor table_gpu = adamw_chunk_table(ranges, test::gpu_device(), 100);
  CHECK(table_cpu.dim(0) == 3 + 1 + 8);
  for (int64_t step = 1; step <= 3; ++step) {
    const Tensor grad = test::random_tensor({n}, DType::kF32, 20 + step, 0.1);
    const AdamWStep s{1e-3, 0.9, 0.95, 1e-8, 0.1, step};
    adamw_update_chunks(p_cpu, grad, m_cpu, v_cpu, table_cpu, s);
    adamw_update_chunks(p_gpu, test::to_gpu(grad), m_gpu, v_gpu, table_gpu, s);
    const std::string ctx = fmt::format("adamw chunks step {}", step);
    test::expect_gpu_close(p_gpu, p_cpu, 1e-6, 1e-5, ctx + " param");
    test::expect_gpu_close(m_gpu, m_cpu, 1e-8, 1e-5, ctx + " exp_avg");
    test::expect_gpu_close(v_gpu, v_cpu, 1e-10, 1e-5, ctx + " exp_avg_sq");
  }
}

TEST_CASE("cuda sgd_update matches the host with and without momentum") {
  const int64_t n = 777;
  for (double momentum : {0.0, 0.9}) {
    Tensor p_cpu = test::random_tensor({n}, DType::kF32, 2);
    Tensor p_gpu = test::to_gpu(p_cpu);
    Tensor buf_cpu, buf_gpu;
    if (momentum != 0.0) {
      buf_cpu = Tensor::zeros({n}, DType::kF32);
      buf_gpu = test::to_gpu(buf_cpu);
    }
    for (int step = 0; step < 3; ++step) {
      const Tensor grad = test::random_tensor({n}, DType::kF32, 20 + step);
      sgd_update(p_cpu, grad, buf_cpu, 0.05, momentum, 0.01, step == 0);
      sgd_update(p_gpu, test::to_gpu(grad), buf_gpu, 0.05, momentum, 0.01, step == 0);
      const std::string ctx = fmt::format("sgd momentum {} step {}", momentum, step);
      test::expect_gpu_close(p_gpu, p_cpu, 1e-6, 1e-5, ctx);
      if (momentum != 0.0) test::expect_gpu_close(buf_gpu, buf_cpu, 1e-6, 1e-5, ctx + " buffer");
    }
  }
}

}  // namespace
}  // namespace me
