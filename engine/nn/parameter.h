// A named parameter: its shape, how it is initialised, whether weight decay applies, and (once the
// flat buffers are bound) views of its value and fp32 gradient inside them.
#pragma once

#include <string>

#include "engine/core/tensor.h"

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
  Shape shape;
  ParamInit init;
  bool weight_decay = true;  // false for biases and norm weights (Megatron's wd_mult = 0)
  Tensor value;              // view into the flat parameter buffer
  Tensor grad;               // view into the flat fp32 gradient buffer (accumulated by backward)

  int64_t numel() const { return shape_numel(shape); }
};

// Fills a parameter's value by its init rule from Philox keyed by (seed, parameter name), so the
// result is independent of layout, thread count and device.
void initialize_parameter(Parameter& param, uint64_t seed);

}  // namespace me
