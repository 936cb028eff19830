// Feed-forward block (Megatron mcore MLP), registered as "mlp": linear_fc1 (C -> F), GeLU (tanh
// approximation, as GPT-2 and Megatron's bias-GeLU), linear_fc2 (F -> C).
#pragma once

#include <string>

#include "engine/nn/linear.h"
#include "engine/nn/module.h"

namespace me {

class Mlp final : public Layer {
 public:
  struct Saved {
    Tensor pre_activation;  // (B, T, F): fc1 output, GeLU's input
  };

  // Reads model.{hidden_size, add_bias_linear, init_method_std, num_layers} and
  // derived.ffn_hidden_size.
  Mlp(const std::string& name, const Recipe& recipe);

  Tensor forward(const Tensor& x, MicroBatchContext& ctx) override;    // (..., C)
  Tensor backward(const Tensor& dy, MicroBatchContext& ctx) override;  // (..., C)

 private:
  Linear linear_fc1_;  // C -> F
  Linear linear_fc2_;  // F -> C
};

}  // namespace me
