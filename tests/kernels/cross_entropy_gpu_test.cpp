// CUDA softmax cross-entropy against the host loops: losses, lse and dlogits over an odd
// vocabulary (not a multiple of the block), masked rows (dloss 0), and the host's error message
// for a target outside the vocabulary.
#include <doctest/doctest.h>

#include <string>

#include "kernels/cross_entropy.h"
#include "tests/support/gpu_parity.h"
#include "tests/support/grad_check.h"

namespace me {
namespace {

TEST_CASE("cuda cross_entropy forward and backward match the host, targets on other shards too") {
  const Device g = test::gpu_device();
  for (int64_t v : {int64_t{1}, int64_t{1001}, int64_t{50304}}) {
    CAPTURE(v);
    const int64_t n = 37;
    const Tensor logits = test::random_tensor({n, v}, DType::kF32, 1, 8.0);
    // Every sixth row's target lives on another vocab-parallel shard (-1).
    std::vector<int32_t> ids = test::random_ids({n}, v, 2).to_vector<int32_t>();
    for (int64_t i = 0; i < n; i += 6) ids[static_cast<size_t>(i)] = kTargetOnAnotherShard;
    const Tensor targets = Tensor::from_vector(ids, {n});
    Tensor loss_cpu = Tensor::empty({n}, DType::kF32), lse_cpu = Tensor::empty({n}, DType::kF32);
    Tensor loss_gpu = test::poisoned({n}, DType::kF32, g);
    Tensor lse_gpu = test::poisoned({n}, DType::kF32, g);
    cross_entropy_forward(logits, targets, loss_cpu, lse_cpu);
    const Tensor logits_g = test::to_gpu(logits), targets_g = test::to_gpu(targets);
    cross_entropy_forward(logits_g, targets_g, loss_gpu, lse_gpu);
    test::expect_gpu_close(lse_gpu, lse_cpu, test::kAbsTol, test::kRelTol, "cross_entropy lse");
    if (v > 1) {  // one class: every loss is exactly 0
      test::expect_gpu_close(loss_gpu, loss_cpu, test::kAbsTol, test::kRelTol,
                             "cross_entropy loss");
    }

    std::vector<float> d(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) d[i] = i % 5 == 4 ? 0.0f : 0.01f * static_cast<float>(i + 1);
    const Tensor dlosses = Tensor::from_vector(d, {n});
    Tensor dl_cpu = Tensor::empty({n, v}, DType::kF32);
    Tensor dl_gpu = test::poisoned({n, v}, DType::kF32, g);
    cross_entropy_backward(logits, targets, lse_cpu, dlosses, dl_cpu);
    cross_entropy_backward(logits_g, targets_g, lse_gpu, test::to_gpu(dlosses), dl_gpu);
    if (v > 1) {
      test::expect_gpu_close(dl_gpu, dl_cpu, test::kAbsTol, test::kRelTol, "cross_entropy dlogits");
      // The LM head writes dlogits over its logits: the same result in place.
      Tensor in_place = test::to_gpu(logits);
      cross_entropy_backward(in_place, targets_g, lse_gpu, test::to_gpu(dlosses), in_place);
      test::expect_gpu_close(in_place, dl_cpu, test::kAbsTol, test::kRelTol,
                             "cross_entropy dlogits in place");
    }
  }
}

TEST_CASE("cuda cross_entropy rejects an out-of-range target with the host's message") {
  const Device g = test::gpu_device();
  const Tensor logits = test::random_tensor({3, 4}, DType::kF32, 3);
  const Tensor targets = Tensor::from_vector(std::vector<int32_t>{0, -2, 2}, {3});
  Tensor loss = Tensor::empty({3}, DType::kF32), lse = Tensor::empty({3}, DType::kF32);
  Tensor loss_g = Tensor::empty({3}, DType::kF32, g), lse_g = Tensor::empty({3}, DType::kF32, g);
  std::string cpu_message, gpu_message;
  try {
    cross_entropy_forward(logits, targets, loss, lse);
  } catch (const Error& e) {
    cpu_message = e.what();
  }
  try {
    cross_entropy_forward(test::to_gpu(logits), test::to_gpu(targets), loss_g, lse_g);
  } catch (const Error& e) {
    gpu_message = e.what();
  }
  CHECK(cpu_message.find("target -2 at row 1") != std::string::npos);
  CHECK(gpu_message == cpu_message);
}

}  // namespace
}  // namespace me
