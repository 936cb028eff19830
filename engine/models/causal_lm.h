// Generation as a capability: a model that can predict the next token (Model::causal_lm()) gives
// its logits for whole sequences and incrementally over a KV cache. Models without it (an encoder)
// simply do not offer it.
#pragma once

#include "engine/core/tensor.h"

namespace me {

class KvCache;

class CausalLm {
 public:
  virtual ~CausalLm() = default;
  // The longest sequence it can attend over (max_position_embeddings).
  virtual int64_t max_sequence_length() const = 0;
  // Logits (B, T, padded vocab) f32 for tokens (B, T); nothing saved.
  virtual Tensor logits(const Tensor& tokens) = 0;
  // Incremental: tokens (B, Tn) at positions cache.lengths()[b] + i, reading and extending the
  // cache (the caller advances its lengths).
  virtual Tensor logits(const Tensor& tokens, KvCache& cache) = 0;
};

}  // namespace me
