// A self-attention layer's keys and values over a batch's positions, (B, S, G, D) each: the state
// that grows as steps append their real tokens (incremental decoding).
#pragma once

#include <cstdint>

#include "engine/nn/inference_state.h"

namespace me {

class KvCache final : public LayerState {
 public:
  // Zeroed (batch, capacity, groups, head_dim) keys and values.
  KvCache(int64_t batch, int64_t capacity, int64_t groups, int64_t head_dim, DType dtype,
          Device device);

  const Tensor& keys() const { return keys_; }      // (B, S, G, D)
  const Tensor& values() const { return values_; }  // (B, S, G, D)

  // Writes the running step's keys and values k, v (B, Tn, G, D): row b's first
  // state.step_lengths()[b] at positions state.lengths()[b] onward; padding is never written.
  void append(const Tensor& k, const Tensor& v, const InferenceState& state);

 private:
  Tensor keys_;
  Tensor values_;
};

}  // namespace me
