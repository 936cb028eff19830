// Vocab-parallel cross-entropy from the one-shard kernels: each rank's lse over its slice joins
// as lse = m + log(sum_r exp(lse_r - m)), m the max over ranks; the target logit comes from the
// one rank holding it (the others add 0). Backward is the kernel's softmax with the full lse, less
// the onehot only where this rank holds the target. Per-row values travel through the host (N
// values a micro-batch, against N * V / tp logits).
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

Tensor VocabShard::local_targets(const Tensor& targets, std::vector<char>& in_shard) const {
  std::vector<int32_t> ids = targets.to(Device::cpu()).to_vector<int32_t>();
  in_shard.assign(ids.size(), 1);
  if (tp.size == 1) return targets;
  const int64_t end = vocab_start + vocab_size;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= vocab_size * tp.size) {
      throw Error(fmt::format("token id {} is outside the padded vocabulary of {}", ids[i],
                              vocab_size * tp.size),
                  "model.padded_vocab_size");
    }
    in_shard[i] = ids[i] >= vocab_start && ids[i] < end;
    ids[i] = in_shard[i] ? static_cast<int32_t>(ids[i] - vocab_start) : 0;
  }
  return Tensor::from_vector(ids, targets.shape()).to(targets.device());
}

void vocab_parallel_cross_entropy_forward(const Tensor& logits, const Tensor& targets,
                                          const VocabShard& shard, Tensor& losses, Tensor& lse) {
  if (shard.tp.size == 1) {
    cross_entropy_forward(logits, targets, losses, lse);
    return;
  }
  std::vector<char> in_shard;
  const Tensor local = shard.local_targets(targets, in_shard);
  cross_entropy_forward(logits, local, losses, lse);
  const std::vector<double> shard_lse = host_values(lse);
  const std::vector<double> shard_losses = host_values(losses);
  const size_t n = shard_lse.size();
  std::vector<double> max = shard_lse;
  shard.tp.comm->all_reduce_max(max.data(), static_cast<int64_t>(n));
  // [0, n): sum of exponentials; [n, 2n): the target logit (lse_r - loss_r on its owner).
  std::vector<double> sums(2 * n);
  for (size_t i = 0; i < n; ++i) {
    sums[i] = std::exp(shard_lse[i] - max[i]);
    sums[n + i] = in_shard[i] ? shard_lse[i] - shard_losses[i] : 0.0;
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

void vocab_parallel_cross_entropy_backward(const Tensor& logits, const Tensor& targets,
                                           const VocabShard& shard, const Tensor& lse,
                                           const Tensor& dlosses, Tensor& dlogits) {
  if (shard.tp.size == 1) {
    cross_entropy_backward(logits, targets, lse, dlosses, dlogits);
    return;
  }
  std::vector<char> in_shard;
  const Tensor local = shard.local_targets(targets, in_shard);
  cross_entropy_backward(logits, local, lse, dlosses, dlogits);
  // The kernel subtracted dlosses at column 0 of rows whose target is elsewhere: add it back.
  const std::vector<double> d = host_values(dlosses);
  const bool in_place = dlogits.device().is_cpu() && dlogits.dtype() == DType::kF64;
  Tensor host = in_place ? dlogits : dlogits.to(Device::cpu()).cast(DType::kF64).clone();
  double* h = host.data<double>();
  const int64_t v = dlogits.dim(1);
  for (size_t i = 0; i < d.size(); ++i) {
    if (!in_shard[i]) h[static_cast<int64_t>(i) * v] += d[i];
  }
  if (!in_place) dlogits.copy_from(host.cast(dlogits.dtype()).to(dlogits.device()));
}

}  // namespace me
