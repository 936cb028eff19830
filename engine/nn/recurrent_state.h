// The fixed-size state of a recurrent mixer (Mamba's conv_state and ssm_state): per row, the last
// inputs of its causal depthwise conv1d and the SSM's hidden state. Unlike a KV cache it does not
// grow with the sequence, so a step must advance a row by its real tokens only: a padded token
// would be folded into the state for good.
#pragma once

#include <cstdint>

#include "engine/nn/inference_state.h"

namespace me {

struct RecurrentStateShape {
  int64_t conv_channels = 0;  // the conv1d's channels (Mamba-2: d_inner + 2 ngroups d_state)
  int64_t conv_width = 0;     // its kernel width (d_conv): the inputs it keeps
  int64_t heads = 0;          // SSM heads
  int64_t head_dim = 0;       // channels per head
  int64_t state_size = 0;     // SSM state per channel (d_state)
};

class RecurrentState final : public LayerState {
 public:
  // Zeroed: a row that has taken in no token.
  RecurrentState(int64_t batch, const RecurrentStateShape& shape, DType dtype, Device device);

  // (B, conv_channels, conv_width): the last conv_width inputs of each row, oldest first.
  Tensor& conv() { return conv_; }
  // (B, heads, head_dim, state_size).
  Tensor& ssm() { return ssm_; }

 private:
  Tensor conv_;
  Tensor ssm_;
};

}  // namespace me
