// Feed-forward block (Megatron mcore MLP), registered as "mlp": linear_fc1, GeLU (tanh, as GPT-2)
// or SwiGLU, silu(gate) * up over fc1's [gate | up] halves; then linear_fc2.
#pragma once

#include <string>

#include "engine/nn/linear.h"
#include "engine/nn/module.h"

namespace me {

class Mlp final : public Layer {
 public:
  struct Saved {
    Tensor pre_activation;  // (B, T, F), or (B, T, 2F) with swiglu: fc1 output
  };

  Mlp(const std::string& name, const MlpConfig& config);

  Tensor forward(const Tensor& x, MicroBatchContext& ctx) override;    // (..., C)
  Tensor backward(const Tensor& dy, MicroBatchContext& ctx) override;  // (..., C)
  // Keeps fc1's input and output and fc2's input. Backward peaks in fc2's backward (with GeLU on
  // the host, beside the GEMM's result before the derivative), or with SwiGLU in fc1's, where the
  // activation's gradient and fc1's output gradient are both still alive.
  ModuleCost cost(const CostQuery& query) const override;

 private:
  bool swiglu_;
  Linear linear_fc1_;  // C -> F, or C -> 2F with swiglu
  Linear linear_fc2_;  // F -> C
};

}  // namespace me
