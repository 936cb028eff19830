// Pre-LayerNorm transformer block (Megatron mcore TransformerLayer), registered as
// "transformer_layer". Its slots (input_layernorm, self_attention, pre_mlp_layernorm, mlp) are
// filled with registered layers by name, so a variant block is data, not new code:
//   h = x + dropout(self_attention(input_layernorm(x)))
//   y = h + dropout(mlp(pre_mlp_layernorm(h)))          dropout p = model.hidden_dropout
// With train.recompute_granularity: selective the self_attention slot is checkpointed at its
// input (engine/nn/recompute.h).
#pragma once

#include <memory>
#include <string>

#include "engine/nn/dropout.h"
#include "engine/nn/module.h"

namespace me {

// The registered layer type of each slot.
struct TransformerLayerSlots {
  std::string input_layernorm;
  std::string self_attention;
  std::string pre_mlp_layernorm;
  std::string mlp;

  // GPT's: the norm named by model.normalization, "self_attention", "mlp".
  static TransformerLayerSlots standard(const Recipe& recipe);
};

class TransformerLayer final : public Layer {
 public:
  TransformerLayer(const std::string& name, const Recipe& recipe,
                   const TransformerLayerSlots& slots);
  // The standard slots.
  TransformerLayer(const std::string& name, const Recipe& recipe);

  Tensor forward(const Tensor& x, MicroBatchContext& ctx) override;    // (B, T, C)
  Tensor backward(const Tensor& dy, MicroBatchContext& ctx) override;  // (B, T, C)

 private:
  std::unique_ptr<Layer> input_layernorm_;
  std::unique_ptr<Layer> self_attention_;
  Dropout self_attn_dropout_;
  std::unique_ptr<Layer> pre_mlp_layernorm_;
  std::unique_ptr<Layer> mlp_;
  Dropout mlp_dropout_;
  bool selective_recompute_;
};

}  // namespace me
