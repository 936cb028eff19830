// RandomLmBatch: the Philox batch shared by the model, parallelism and GPU tests.
#include "tests/support/random_lm_batch.h"

#include <vector>

#include "engine/core/philox.h"

namespace me::test {

Batch RandomLmBatch::rows(uint64_t seed, int64_t first, int64_t count) const {
  std::vector<int32_t> tokens, labels, positions;
  std::vector<float> mask;
  for (int64_t i = first * seq_length; i < (first + count) * seq_length; ++i) {
    const auto index = static_cast<uint64_t>(i);
    tokens.push_back(static_cast<int32_t>(philox4x32(seed, 1, index).v[0] % vocab));
    labels.push_back(static_cast<int32_t>(philox4x32(seed, 2, index).v[0] % vocab));
    positions.push_back(static_cast<int32_t>(i % seq_length));
    mask.push_back(i % mask_period == mask_phase ? 0.0f : 1.0f);
  }
  Batch batch;
  batch.tensors["tokens"] = Tensor::from_vector(tokens, {count, seq_length});
  batch.tensors["labels"] = Tensor::from_vector(labels, {count, seq_length});
  batch.tensors["loss_mask"] = Tensor::from_vector(mask, {count, seq_length});
  batch.tensors["position_ids"] = Tensor::from_vector(positions, {count, seq_length});
  return batch;
}

}  // namespace me::test
