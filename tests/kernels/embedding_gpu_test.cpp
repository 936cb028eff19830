// CUDA embedding against the host loops: the gather is a copy and the scatter-add sums each id's
// tokens in token order onto the current table value, exactly as the host does, so both are
// bitwise equal to the host; out-of-range ids give the host's error message.
#include <doctest/doctest.h>

#include <string>

#include "kernels/embedding.h"
#include "tests/support/gpu_parity.h"
#include "tests/support/grad_check.h"

namespace me {
namespace {

TEST_CASE("cuda embedding forward and backward equal the host bitwise, ids on other shards too") {
  const Device g = test::gpu_device();
  for (int64_t vocab : {int64_t{50}, int64_t{5000}}) {
    CAPTURE(vocab);
    const int64_t n = 333, c = 45;  // vocab 50: every id repeats; c spans no whole block
    // Every fifth id lives on another vocab-parallel shard (-1): a zero row, no gradient.
    std::vector<int32_t> id_values = test::random_ids({n}, vocab, 1 + vocab).to_vector<int32_t>();
    for (int64_t i = 0; i < n; i += 5) id_values[static_cast<size_t>(i)] = kIdOnAnotherShard;
    const Tensor ids = Tensor::from_vector(id_values, {n});
    const Tensor table = test::random_tensor({vocab, c}, DType::kF32, 2);
    Tensor out_cpu = Tensor::empty({n, c}, DType::kF32);
    Tensor out_gpu = test::poisoned({n, c}, DType::kF32, g);
    embedding_forward(ids, table, out_cpu);
    embedding_forward(test::to_gpu(ids), test::to_gpu(table), out_gpu);
    test::expect_bitwise_equal(out_gpu.to(Device::cpu()), out_cpu, "embedding_forward");

    const Tensor dout = test::random_tensor({n, c}, DType::kF32, 3);
    const Tensor init = test::random_tensor({vocab, c}, DType::kF32, 4);
    Tensor dt_cpu = init.clone(), dt_gpu = test::to_gpu(init), dt_gpu2 = test::to_gpu(init);
    embedding_backward(ids, dout, dt_cpu);
    embedding_backward(test::to_gpu(ids), test::to_gpu(dout), dt_gpu);
    embedding_backward(test::to_gpu(ids), test::to_gpu(dout), dt_gpu2);
    test::expect_bitwise_equal(dt_gpu.to(Device::cpu()), dt_cpu, "embedding_backward +=");
    test::expect_gpu_bitwise(dt_gpu, dt_gpu2, "embedding_backward twice");
  }
}

TEST_CASE("cuda embedding rejects an out-of-range id with the host's message") {
  const Device g = test::gpu_device();
  const Tensor ids = Tensor::from_vector(std::vector<int32_t>{1, 2, 9, 0}, {4});
  const Tensor table = test::random_tensor({9, 3}, DType::kF32, 5);
  Tensor out_cpu = Tensor::empty({4, 3}, DType::kF32);
  Tensor out_gpu = Tensor::empty({4, 3}, DType::kF32, g);
  std::string cpu_message, gpu_message;
  try {
    embedding_forward(ids, table, out_cpu);
  } catch (const Error& e) {
    cpu_message = e.what();
  }
  try {
    embedding_forward(test::to_gpu(ids), test::to_gpu(table), out_gpu);
  } catch (const Error& e) {
    gpu_message = e.what();
  }
  CHECK(cpu_message.find("token id 9 at position 2") != std::string::npos);
  CHECK(gpu_message == cpu_message);
  Tensor dt = Tensor::zeros({9, 3}, DType::kF32, g);
  CHECK_THROWS_WITH_AS(embedding_backward(test::to_gpu(ids), out_gpu, dt),
                       doctest::Contains("outside the vocabulary"), Error);
}

}  // namespace
}  // namespace me
