// Dropout as a layer: inverted dropout with probability p while training, identity otherwise.
// The mask comes from Philox keyed by (ctx.seed(), this module's name, iteration, micro-batch),
// so backward regenerates it and nothing is saved. Dropout layers sit between the tensor-parallel
// blocks; under sequence parallelism their input is this rank's token rows and the mask is drawn
// at the elements' places in the whole tensor, so every rank applies one rank's mask.
#pragma once

#include <string>

#include "engine/nn/module.h"
#include "engine/nn/tensor_parallel.h"

namespace me {

class Dropout final : public Layer {
 public:
  // Takes TensorParallel::current() for the sequence split.
  Dropout(const std::string& name, double p);

  Tensor forward(const Tensor& x, MicroBatchContext& ctx) override;
  Tensor backward(const Tensor& dy, MicroBatchContext& ctx) override;

  double p() const { return p_; }
  // Keeps nothing (backward draws the mask again) and computes nothing Megatron counts. The
  // gradient its backward writes (with p > 0) is as large as its input, whose width it does not
  // know: the block holding it counts that.
  ModuleCost cost(const CostQuery& query) const override;

 private:
  // Dropout of x's elements as the elements [rank n, (rank + 1) n) of the gathered tensor.
  Tensor apply(const Tensor& x, bool forward, const MicroBatchContext& ctx) const;

  double p_;
  TensorParallel tp_;
};

}  // namespace me
