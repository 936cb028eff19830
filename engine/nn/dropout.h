// Dropout as a layer: inverted dropout with probability p while training, identity otherwise.
// The mask comes from Philox keyed by (ctx.seed(), this module's name, iteration, micro-batch),
// so backward regenerates it and nothing is saved.
#pragma once

#include <string>

#include "engine/nn/module.h"

namespace me {

class Dropout final : public Layer {
 public:
  Dropout(const std::string& name, double p);

  Tensor forward(const Tensor& x, MicroBatchContext& ctx) override;
  Tensor backward(const Tensor& dy, MicroBatchContext& ctx) override;

  double p() const { return p_; }

 private:
  double p_;
};

}  // namespace me
