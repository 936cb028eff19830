// A random language-model micro-batch for model tests: Philox tokens and labels over a fixed
// global batch, so any rank can build any rows of it and equality tests compare like with like.
#pragma once

#include <cstdint>

#include "engine/core/batch.h"

namespace me::test {

// Rows of a global batch of sequences of `seq_length` tokens. Flat token index i (row * seq_length
// + position) gets token philox(seed, 1, i) % vocab, label philox(seed, 2, i) % vocab, position
// i % seq_length, and loss mask 0 where i % mask_period == mask_phase (1 elsewhere).
struct RandomLmBatch {
  int64_t seq_length = 0;
  int64_t vocab = 0;
  int64_t mask_period = 5;
  int64_t mask_phase = 4;

  // Rows [first, first + count): tokens, labels, loss_mask and position_ids, each (count, T).
  Batch rows(uint64_t seed, int64_t first, int64_t count) const;
};

}  // namespace me::test
