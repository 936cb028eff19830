// RecurrentState: zeroed conv and SSM states of the shape a mixer declares.
#include "engine/nn/recurrent_state.h"

namespace me {
namespace {
const RecurrentStateShape& checked(const RecurrentStateShape& s) {
  ME_CHECK(
      s.conv_channels > 0 && s.conv_width > 0 && s.heads > 0 && s.head_dim > 0 && s.state_size > 0,
      "recurrent state of conv ({}, {}) and ssm ({}, {}, {})", s.conv_channels, s.conv_width,
      s.heads, s.head_dim, s.state_size);
  return s;
}
}  // namespace

RecurrentState::RecurrentState(int64_t batch, const RecurrentStateShape& shape, DType dtype,
                               Device device)
    : conv_(Tensor::zeros({batch, checked(shape).conv_channels, shape.conv_width}, dtype, device)),
      ssm_(Tensor::zeros({batch, shape.heads, shape.head_dim, shape.state_size}, dtype, device)) {}

}  // namespace me
