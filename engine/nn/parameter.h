// A named parameter: its shape, how it is initialised, whether weight decay applies, what the
// module declaring it says about it (tensor-parallel relation, tied copies, expert, group), and
// (once the flat buffers are bound) views of its compute value, fp32 main value and fp32 gradient.
#pragma once

#include <cstdint>
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

// How a parameter relates across the tensor-parallel group (the module declaring it knows:
// TensorParallel::set_sharded and its siblings).
enum class TensorParallelRelation {
  kReplicated,  // the same value and gradient on every rank (everything at tp 1)
  kSharded,     // each rank holds its slice (Parameter::partition) and that slice's gradient
  // The same value everywhere, but each rank's gradient is a partial sum the group all-reduces:
  // the q/k norms at tp > 1 (they see this rank's heads); under sequence parallelism everything
  // outside the tensor-parallel blocks (norms, row-parallel biases, learned positions).
  kPartial,
};

// A tensor held as separate copies on several pipeline stages and kept equal (the first stage's
// word embeddings and the last stage's copy for the tied LM head): their gradients are summed
// over the stages' embedding group after backward, and the gradient norm counts one copy.
struct TiedCopies {
  std::string key;     // the same on every copy; empty: not tied
  bool owner = false;  // the copy the gradient norm counts
  bool tied() const { return !key.empty(); }
};

// The parameter group of everything not declared otherwise: reduced over the data-parallel group.
inline constexpr const char* kDenseGroup = "dense";

struct Parameter {
  std::string name;  // full dotted name, Megatron-style: "decoder.layers.0.mlp.linear_fc1.weight"
  Shape shape;       // of this rank's value: the local shard under tensor parallelism
  ParamInit init;
  bool weight_decay = true;  // false for biases and norm weights (Megatron's wd_mult = 0)
  // What the modules compute with, in the model's dtype: the fp32 main value itself, or (with
  // bf16/f16 mixed precision) a view of the model copy the optimizer refreshes after each step.
  Tensor value;
  Tensor main;  // view into the flat fp32 parameter buffer: what optimizers and checkpoints own
  Tensor grad;  // view into the flat fp32 gradient buffer (accumulated by backward)
  // The declared metadata, last, so aggregate initialisers that stop at weight_decay are
  // unaffected. partition: how `shape` sits in the full tensor (whole by default).
  Partition partition;
  TensorParallelRelation tensor_parallel = TensorParallelRelation::kReplicated;
  TiedCopies tied;
  int64_t expert = -1;  // the expert it belongs to; -1: dense
  // The parameter group whose buffers, data-parallel reduce and optimizer it goes through.
  std::string group = kDenseGroup;

  int64_t numel() const { return shape_numel(shape); }
  Shape full_shape() const { return partition.full_shape(shape); }
};

// Fills a parameter's main value by its init rule from Philox keyed by (seed, parameter name) and
// the element's index in the full tensor, so the result is independent of layout (a shard holds
// its slice of the unsharded init), thread count and device.
void initialize_parameter(Parameter& param, uint64_t seed);

}  // namespace me
