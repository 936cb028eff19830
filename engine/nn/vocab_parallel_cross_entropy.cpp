// Vocab-parallel cross-entropy from the one-shard kernels: each rank's lse over its slice joins
// as lse = m + log(sum_r exp(lse_r - m)), m the max over ranks; the target logit comes from the
// one rank holding it (elsewhere the target is -1, so the kernel's loss is its lse and lse - loss
// adds 0). Backward is the kernel's softmax with the full lse, the one-hot only where this rank
// holds the target. Per-row values travel through the host (N values a micro-batch); the logits
// and their gradient stay where they are.
#include "engine/nn/vocab_parallel_cross_entropy.h"

#include <fmt/format.h>

#include <cmath>

#include "engine/parallel/communicator.h"
#include "kernels/cross_entropy.h"

namespace me {
namespace {
std::vector<double> host_values(const Tensor& x) {
  return x.to(Device::cpu()).cast(DType::kF64).to_vector<double>();
}

Tensor device_values(const std::vector<double>& v, DType dtype, Device device) {
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}).cast(dtype).to(device);
}
}  // namespace

VocabShard VocabShard::of(const TensorParallel& tp, int64_t padded_vocab_size) {
  VocabShard shard;
  shard.tp = tp;
  shard.vocab_size = tp.divide(padded_vocab_size, "model.padded_vocab_size");
  shard.vocab_start = tp.rank * shard.vocab_size;
  return shard;
}

Tensor VocabShard::local_targets(const Tensor& targets) const {
  if (tp.size == 1) return targets;
  std::vector<int32_t> ids = targets.to(Device::cpu()).to_vector<int32_t>();
  const int64_t end = vocab_start + vocab_size;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= vocab_size * tp.size) {
      throw Error(fmt::format("token id {} is outside the padded vocabulary of {}", ids[i],
                              vocab_size * tp.size),
                  "model.padded_vocab_size");
    }
    ids[i] = ids[i] >= vocab_start && ids[i] < end ? static_cast<int32_t>(ids[i] - vocab_start)
                                                   : kTargetOnAnotherShard;
  }
  return Tensor::from_vector(ids, targets.shape()).to(targets.device());
}

void vocab_parallel_cross_entropy_forward(const Tensor& logits, const Tensor& local_targets,
                                          const VocabShard& shard, Tensor& losses, Tensor& lse) {
  cross_entropy_forward(logits, local_targets, losses, lse);
  if (shard.tp.size == 1) return;
  const std::vector<double> shard_lse = host_values(lse);
  const std::vector<double> shard_losses = host_values(losses);
  const size_t n = shard_lse.size();
  std::vector<double> max = shard_lse;
  shard.tp.comm->all_reduce_max(max.data(), static_cast<int64_t>(n));
  // [0, n): sum of exponentials; [n, 2n): the target logit (lse_r - loss_r: 0 but on its owner).
  std::vector<double> sums(2 * n);
  for (size_t i = 0; i < n; ++i) {
    sums[i] = std::exp(shard_lse[i] - max[i]);
    sums[n + i] = shard_lse[i] - shard_losses[i];
  }
  shard.tp.comm->all_reduce_sum(sums.data(), static_cast<int64_t>(2 * n));
  std::vector<double> full_lse(n), full_losses(n);
  for (size_t i = 0; i < n; ++i) {
    full_lse[i] = max[i] + std::log(sums[i]);
    full_losses[i] = full_lse[i] - sums[n + i];
  }
  lse.copy_from(device_values(full_lse, lse.dtype(), lse.device()));
  losses.copy_from(device_values(full_losses, losses.dtype(), losses.device()));
}

}  // namespace me
