// GPT (Megatron mcore GPTModel, registered as "gpt"), which with options is also Llama, Mistral
// and Qwen2: an embedding, a stack of layers, and a head (final norm, then the LM head and its
// loss, tied to the word embeddings unless model.untie_embeddings_and_output_weights). Every layer
// is the standard transformer block, or with model.hybrid_override_pattern the block its
// character names (engine/models/layer_pattern.h).
//
// Parameter names are Megatron mcore's (C hidden, D kv_channels, Hq heads, G query groups,
// F ffn_hidden_size, V padded vocab; [bias] only with add_bias_linear, [qkv bias] with
// add_bias_linear or add_qkv_bias, [ln bias] only with normalization LayerNorm):
//   embedding.word_embeddings.weight                       (V, C)
//   embedding.position_embeddings.weight                   (max_position_embeddings, C);
//                                                          learned_absolute only
//   decoder.layers.{i}.input_layernorm.weight [.bias]      (C)
//   decoder.layers.{i}.self_attention.linear_qkv.weight    ((Hq + 2G) D, C): rows per query group
//                                                          g: [Hq/G q heads | k_g | v_g], D each
//   decoder.layers.{i}.self_attention.linear_qkv.bias      ((Hq + 2G) D) [qkv bias]
//   decoder.layers.{i}.self_attention.q_layernorm.weight   (D) with qk_layernorm (also k_)
//   decoder.layers.{i}.self_attention.linear_proj.weight   (C, Hq D) [bias (C)]
//   decoder.layers.{i}.pre_mlp_layernorm.weight [.bias]    (C)
//   decoder.layers.{i}.mlp.linear_fc1.weight               (F, C), or (2F, C) with swiglu: rows
//                                                          [gate (Llama gate_proj) | up (up_proj)]
//   decoder.layers.{i}.mlp.linear_fc1.bias                 [bias]
//   decoder.layers.{i}.mlp.linear_fc2.weight               (C, F) [bias (C)]
//   decoder.final_layernorm.weight [.bias]                 (C)
//   output_layer.weight                                    (V, C); untied only
// Under tensor parallelism (engine/nn/tensor_parallel.h) each rank holds the shards named by the
// parameters' Partition: linear_qkv, linear_fc1 (gate and up halves each) and their biases by
// rows, linear_proj and linear_fc2 by columns, the word table and output_layer by vocabulary rows.
// Under pipeline parallelism (built in a PipelineStageScope) a rank holds its chunks' layers under
// their global names; the embedding on the first stage; the final norm and the LM head on the
// last, which with tied embeddings holds its own copy of embedding.word_embeddings.weight; both
// tables are then declared tied copies under the key "word_embeddings", the first stage's owning
// it for the gradient norm.
// Stages exchange "hidden", (micro_batch_size, seq_length, C), this rank's seq_length / tp token
// rows under sequence parallelism.
// RoPE is non-interleaved by default (rotate halves), which is Hugging Face Llama's rotate_half
// with q_proj/k_proj rows in their natural order: no permutation is needed on import.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/models/causal_lm.h"
#include "engine/models/model.h"
#include "engine/models/word_embedding_copy.h"
#include "engine/nn/embedding.h"
#include "engine/nn/layer_stack.h"
#include "engine/nn/lm_head.h"
#include "engine/parallel/pipeline_layout.h"

namespace me {

class GptModel final : public Model, public CausalLm {
 public:
  GptModel(const Recipe& recipe, int64_t padded_vocab_size);

  // tokens, labels, loss_mask, position_ids, and document_ids with data.reset_attention_mask.
  std::vector<TensorSpec> inputs() const override;
  std::string dataset_type() const override { return "gpt"; }
  std::vector<LossSpec> losses() const override;
  int64_t num_chunks() const override { return static_cast<int64_t>(stack_->num_chunks()); }
  std::vector<TensorSpec> chunk_inputs(int64_t chunk) const override;
  std::vector<TensorSpec> chunk_outputs(int64_t chunk) const override;
  NamedTensors forward_chunk(int64_t chunk, const Batch& batch, const NamedTensors& inputs,
                             MicroBatchContext& ctx) override;
  NamedTensors backward_chunk(int64_t chunk, const NamedTensors& output_grads,
                              MicroBatchContext& ctx) override;
  // The embedding (first chunk), the chunk's layers, the final norm and the head (last chunk);
  // the batch keeps its positions (and document ids) for every chunk, the tokens and labels the
  // embedding and the head keep as they are at tp 1.
  ChunkCost chunk_cost(int64_t chunk, const CostQuery& query) const override;
  CausalLm* causal_lm() override { return this; }

  int64_t max_sequence_length() const override { return max_position_embeddings_; }
  Tensor logits(const Tensor& tokens) override;  // (B, T) -> (B, T, V) f32
  // Every attention layer keeps a KV cache in it (gpt_decode.cpp).
  InferenceState make_inference_state(int64_t batch, int64_t capacity) const override;
  Tensor logits(const Tensor& tokens, std::span<const int64_t> step_lengths,
                InferenceState& state) override;

 private:
  // Embedding, the whole stack and the final norm, for inference.
  Tensor hidden_states(const Tensor& tokens, SequenceInfo sequence, MicroBatchContext& ctx);
  // The head's logits in f32.
  Tensor f32_logits(const Tensor& hidden) const;
  SequenceInfo sequence_of(const Batch& batch, Device device) const;
  Device device();
  // The whole model is here (pipeline size 1): inference needs it.
  void require_whole(const char* what) const;
  // What the bound parameters compute in (tests bind f64), else the recipe's compute dtype.
  DType activation_dtype() const;
  // "hidden" as stages exchange it.
  TensorSpec hidden_spec() const;

  int64_t max_position_embeddings_;
  bool reset_attention_mask_;
  int64_t seq_length_;
  int64_t micro_batch_size_;
  int64_t hidden_size_;
  int64_t sequence_split_;  // tp under sequence parallelism, else 1
  DType compute_dtype_;     // what the modules compute in, until parameters are bound
  PipelineStage stage_;
  std::optional<LanguageModelEmbedding> embedding_;  // first stage
  std::optional<WordEmbeddingCopy> tied_copy_;       // last stage, tied, pp > 1
  std::unique_ptr<LayerStack> stack_;                // decoder.layers.{i} of this stage
  std::unique_ptr<Layer> final_layernorm_;           // decoder.final_layernorm, last stage
  std::optional<LanguageModelHead> output_layer_;    // last stage
};

}  // namespace me
