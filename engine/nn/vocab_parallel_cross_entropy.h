// Megatron's vocab-parallel cross-entropy: each tensor-parallel rank holds the logits of its slice
// [vocab_start, vocab_start + V / tp) of the padded vocabulary; the row max, the sum of
// exponentials and the target logit are all-reduced, so no rank ever gathers the full logits.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/nn/tensor_parallel.h"

namespace me {

struct VocabShard {
  TensorParallel tp;
  int64_t vocab_start = 0;  // first padded-vocabulary id of this rank's logits
  int64_t vocab_size = 0;   // this rank's share: padded vocabulary / tp

  // Rank r of tp holds [r V / tp, (r + 1) V / tp); an me::Error when tp does not divide V.
  static VocabShard of(const TensorParallel& tp, int64_t padded_vocab_size);

  // ids (N) i32 of the full vocabulary -> (N) i32 indices into this shard's rows, -1 where the
  // id lies in another rank's slice (the kernels' kTargetOnAnotherShard / kIdOnAnotherShard).
  Tensor local_targets(const Tensor& targets) const;
};

// logits (N, V / tp) f32/f64; local_targets (N) i32 from shard.local_targets (computed once per
// micro-batch for both passes). Writes losses (N) and the full-vocabulary lse (N) in the logits'
// dtype, identical on every rank of the group.
void vocab_parallel_cross_entropy_forward(const Tensor& logits, const Tensor& local_targets,
                                          const VocabShard& shard, Tensor& losses, Tensor& lse);
// The backward is cross_entropy_backward itself on this shard's logits with the local targets and
// the full lse: the softmax over the whole vocabulary at this rank's columns, the one-hot only
// where this rank holds the target.

}  // namespace me
