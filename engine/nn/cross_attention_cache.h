// A cross-attention layer's keys and values of the memory stream (a T5 decoder's projection of the
// encoder output): computed once, on the batch's first step, and read by every step after.
#pragma once

#include "engine/nn/inference_state.h"

namespace me {

class CrossAttentionCache final : public LayerState {
 public:
  // keys, values (B, Tm, G, D); memory_lengths (B) i32: keys j >= memory_lengths[b] of row b are
  // padding (the attention op's kv_lengths).
  CrossAttentionCache(Tensor keys, Tensor values, Tensor memory_lengths);

  const Tensor& keys() const { return keys_; }
  const Tensor& values() const { return values_; }
  const Tensor& memory_lengths() const { return memory_lengths_; }

 private:
  Tensor keys_;
  Tensor values_;
  Tensor memory_lengths_;
};

}  // namespace me
