// Generation as a capability: a model that can predict the next token (Model::causal_lm()) gives
// its logits for whole sequences and incrementally over an InferenceState it makes. Models without
// it (an encoder) simply do not offer it.
#pragma once

#include <cstdint>
#include <span>

#include "engine/core/tensor.h"
#include "engine/nn/inference_state.h"

namespace me {

class CausalLm {
 public:
  virtual ~CausalLm() = default;
  // The longest sequence it can attend over (max_position_embeddings).
  virtual int64_t max_sequence_length() const = 0;
  // Logits (B, T, padded vocab) f32 for tokens (B, T); nothing saved.
  virtual Tensor logits(const Tensor& tokens) = 0;
  // The state incremental steps read and extend: `batch` rows of up to `capacity` positions each;
  // me::Error naming the field for a capacity the model cannot reach.
  virtual InferenceState make_inference_state(int64_t batch, int64_t capacity) const = 0;
  // Incremental: of tokens (B, Tn), row b's first step_lengths[b] are real, at positions
  // state.lengths()[b] + i; the rest is padding, never written into the state nor attended to.
  // Logits (B, Tn, padded vocab) f32, those of padding unspecified; each row of the state advances
  // by its step length.
  virtual Tensor logits(const Tensor& tokens, std::span<const int64_t> step_lengths,
                        InferenceState& state) = 0;
};

}  // namespace me
