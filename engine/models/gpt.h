// GPT (Megatron mcore GPTModel, registered as "gpt"): learned word + position embeddings,
// num_layers pre-LN transformer layers, a final LayerNorm, and the LM head with its loss
// (tied to the word embeddings unless model.untie_embeddings_and_output_weights).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/models/model.h"
#include "engine/nn/embedding.h"
#include "engine/nn/lm_head.h"

namespace me {

class GptModel final : public Model {
 public:
  GptModel(const Recipe& recipe, int64_t padded_vocab_size);

  std::vector<std::string> inputs() const override;  // tokens, labels, loss_mask, position_ids
  LossSums forward(const Batch& batch, MicroBatchContext& ctx) override;
  void backward(double loss_sum_grad, MicroBatchContext& ctx) override;
  Tensor logits(const Tensor& tokens) override;  // (B, T) -> (B, T, V) f32

 private:
  Tensor decode(const Tensor& tokens, const Tensor& position_ids, MicroBatchContext& ctx);

  int64_t max_position_embeddings_;
  LanguageModelEmbedding embedding_;
  std::vector<std::unique_ptr<Layer>> layers_;  // decoder.layers.{i}
  std::unique_ptr<Layer> final_layernorm_;      // decoder.final_layernorm
  LanguageModelHead output_layer_;
};

}  // namespace me
