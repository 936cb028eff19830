// Linear layer y = x W^T + b with W (out, in), as Megatron's column/row-parallel linears at tp=1.
// Saves its input for the weight gradient; the math is kernels/matmul.h and kernels/elementwise.h.
#pragma once

#include <cstdint>
#include <string>

#include "engine/nn/module.h"

namespace me {

class Linear final : public Module {
 public:
  struct Saved {
    Tensor input;  // (N, in)
  };

  // Declares `<name>.weight` (out, in) with `weight_init` and, when `bias`, `<name>.bias` (out)
  // zero-initialised and without weight decay.
  Linear(const std::string& name, int64_t in_features, int64_t out_features, bool bias,
         ParamInit weight_init);

  Tensor forward(const Tensor& x, MicroBatchContext& ctx);    // (..., in) -> (..., out)
  Tensor backward(const Tensor& dy, MicroBatchContext& ctx);  // (..., out) -> (..., in)

  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }

 private:
  int64_t in_features_;
  int64_t out_features_;
  Parameter& weight_;
  Parameter* bias_;  // null without bias
};

}  // namespace me
