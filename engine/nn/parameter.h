// A named parameter: its shape, how it is initialised, whether weight decay applies, and (once the
// flat buffers are bound) views of its compute value, fp32 main value and fp32 gradient.
#pragma once

#include <string>

#include "engine/core/tensor.h"
#include "engine/nn/partition.h"

namespace me {

struct ParamInit {
  enum class Kind { kZeros, kOnes, kNormal };
  Kind kind = Kind::kZeros;
  double std = 0.0;  // for kNormal (mean 0)

  static ParamInit zeros() { return {Kind::kZeros, 0.0}; }
  static ParamInit ones() { return {Kind::kOnes, 0.0}; }
  static ParamInit normal(double std) { return {Kind::kNormal, std}; }
};

struct Parameter {
  std::string name;  // full dotted name, Megatron-style: "decoder.layers.0.mlp.linear_fc1.weight"
  Shape shape;  // of this rank's value: the local shard under tensor parallelism
  ParamInit init;
  bool weight_decay = true;  // false for biases and norm weights (Megatron's wd_mult = 0)
  // What the modules compute with, in the model's dtype: the fp32 main value itself, or (with
  // bf16/f16 mixed precision) a view of the model copy the optimizer refreshes after each step.
  Tensor value;
  Tensor main;  // view into the flat fp32 parameter buffer: what optimizers and checkpoints own
  Tensor grad;  // view into the flat fp32 gradient buffer (accumulated by backward)
  // How `shape` sits in the full tensor (whole by default); last, so aggregate initialisers that
  // stop at weight_decay are unaffected.
  Partition partition;

  int64_t numel() const { return shape_numel(shape); }
  Shape full_shape() const { return partition.full_shape(shape); }
};

// Fills a parameter's main value by its init rule from Philox keyed by (seed, parameter name) and
// the element's index in the full tensor, so the result is independent of layout (a shard holds
// its slice of the unsharded init), thread count and device.
void initialize_parameter(Parameter& param, uint64_t seed);

}  // namespace me
