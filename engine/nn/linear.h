// Linear layer y = x W^T + b with W (out, in): Megatron's column-parallel linear (W's rows split
// over the tensor-parallel group, input replicated, output sharded) or row-parallel linear (W's
// columns split, input sharded, output all-reduced, bias added once after the reduce). Saves its
// input for the weight gradient; the math is kernels/linear.h (GEMMs with fused epilogues).
// Under sequence parallelism the column-parallel input and the row-parallel output are this
// rank's token rows (tensor_parallel.h): all-gather / reduce-scatter take the all-reduces' place.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/nn/module.h"
#include "engine/nn/tensor_parallel.h"

namespace me {

enum class TensorSplit {
  kColumn,  // output features split; backward all-reduces dx (Megatron's `f`: copy to the group);
            // sequence parallel: forward all-gathers x's tokens, backward reduce-scatters dx
  kRow,     // input features split; forward all-reduces y (Megatron's `g`), dx stays a shard;
            // sequence parallel: forward reduce-scatters y, backward all-gathers dy
};

class Linear final : public Module {
 public:
  struct Saved {
    Tensor input;  // (N, in); column-parallel under sequence parallelism: this rank's N / tp rows,
                   // gathered again in backward (Megatron keeps the split input too)
  };

  // Declares `<name>.weight` (out, in) with `weight_init` and, when `bias`, `<name>.bias` (out)
  // zero-initialised and without weight decay; features are the full (unsharded) sizes. Under
  // TensorParallel::current() of size > 1 `split` picks the sharded dimension; `output_blocks`
  // (full lengths adding up to out_features) splits each fused output block separately (SwiGLU's
  // [gate | up]: two of F); empty: one block. A row-parallel bias sits outside the
  // tensor-parallel blocks (tensor_parallel.h).
  Linear(const std::string& name, int64_t in_features, int64_t out_features, bool bias,
         ParamInit weight_init, TensorSplit split = TensorSplit::kColumn,
         std::vector<int64_t> output_blocks = {});

  // (..., in) -> (..., out). Sequence parallel: column (B, T / tp, in) -> (B, T, out / tp), row
  // (B, T, in / tp) -> (B, T / tp, out).
  Tensor forward(const Tensor& x, MicroBatchContext& ctx);
  Tensor backward(const Tensor& dy, MicroBatchContext& ctx);  // the reverse shapes
  // gelu(forward(x)) in one GEMM (column-parallel only); `pre` receives forward(x), the GeLU
  // input the backward needs.
  Tensor forward_gelu(const Tensor& x, Tensor& pre, MicroBatchContext& ctx);
  // For a linear whose input was gelu(pre): the gradient with respect to pre, GeLU's derivative
  // applied in the input-gradient GEMM (row-parallel, or tp 1).
  Tensor backward_gelu(const Tensor& dy, const Tensor& pre, MicroBatchContext& ctx);

  // This rank's (local) sizes.
  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }

  // Per token (engine/nn/module_cost.h): keeps its input; backward holds dy and dx and, under
  // sequence parallelism, the gathered dy (row) or the gathered input and the reduce-scattered dx
  // (column). A GeLU fused into backward_gelu adds its host temporary at the caller's.
  ModuleCost cost(const CostQuery& query) const;
  // Output rows for `input_rows` input rows: times tp (column) or over tp (row) under sequence
  // parallelism, else the same.
  double output_rows(double input_rows) const;

 private:
  Tensor forward_impl(const Tensor& x, Tensor* gelu_pre, MicroBatchContext& ctx);
  Tensor backward_impl(const Tensor& dy, const Tensor& gelu_pre, MicroBatchContext& ctx);

  TensorParallel tp_;
  TensorSplit split_;
  int64_t in_features_;
  int64_t out_features_;
  Parameter& weight_;
  Parameter* bias_;  // null without bias
};

}  // namespace me
