// Language-model head and loss (Megatron's output_layer + cross-entropy loss_func): logits = h W^T
// over the padded vocab, W the word embeddings when tied (the default) or output_layer.weight;
// per-token softmax cross-entropy weighted by loss_mask, added to the context as a per-token loss
// (engine/nn/losses.h) and seeded from its gradient there in backward. Under
// tensor parallelism the head is column-parallel over the vocabulary and the loss vocab-parallel
// (engine/nn/vocab_parallel_cross_entropy.h); d(hidden) is all-reduced over the group. Under
// sequence parallelism hidden arrives as this rank's token rows (B, T / tp, C): it is gathered
// (Megatron's column-parallel output layer) and d(hidden) reduce-scattered back.
#pragma once

#include <cstdint>
#include <string>

#include "engine/nn/module.h"
#include "engine/nn/vocab_parallel_cross_entropy.h"

namespace me {

struct LmHeadConfig {
  int64_t vocab_size = 0;  // the padded vocabulary, all tensor-parallel ranks together
  int64_t hidden_size = 0;
  double init_std = 0.02;        // of an untied weight
  std::string loss = "lm loss";  // the name the loss is added under
};

class LanguageModelHead final : public Module {
 public:
  struct Saved {
    Tensor hidden;     // (B, T, C); sequence parallel: this rank's (B, T / tp, C), gathered again
    Tensor logits;     // (N = B * T, V / tp)
    Tensor labels;     // (N) i32 indices into this rank's columns (-1: another rank's)
    Tensor lse;        // (N)
    Tensor loss_mask;  // (N) f64 on the host
  };

  // tied_weight: the word-embedding table (V / tp, C) to share, or null to declare
  // `<name>.weight` (V / tp, C) ~ N(0, init_std).
  LanguageModelHead(const std::string& name, const LmHeadConfig& config, Parameter* tied_weight);

  // hidden (B, T, C), or (B, T / tp, C) under sequence parallelism; labels (B, T) integer;
  // loss_mask (B, T) float. Adds the masked sum of the token losses and the mask's sum.
  void forward(const Tensor& hidden, const Tensor& labels, const Tensor& loss_mask,
               MicroBatchContext& ctx);
  // From the loss's gradient in ctx -> d(hidden) in hidden's shape; accumulates the weight's
  // gradient.
  Tensor backward(MicroBatchContext& ctx);
  // Inference logits (B, T, V) for hidden (B, T, C); nothing saved. Only at tp 1 (an me::Error
  // otherwise): inference does not gather the vocabulary shards.
  Tensor logits(const Tensor& hidden) const;

  // This rank's slice of the padded vocabulary (everything at tp 1).
  const VocabShard& vocab_shard() const { return shard_; }
  // query.rows: rows of its hidden input per token (1 / tp under sequence parallelism). Keeps its
  // input, the logits (V / tp per token), the log-sum-exp, the f64 loss mask (host memory) and
  // its own i32 targets where it maps labels to this rank's columns (tp > 1; at tp 1 they are the
  // batch's). Backward holds the loss gradients (f64 on the host, then the log-sum-exp's dtype),
  // the hidden gradient over every token and under sequence parallelism the gathered hidden and
  // the gradient's reduce-scattered rows; the logits' gradient overwrites the logits.
  ModuleCost cost(const CostQuery& query) const;

 private:
  Tensor shard_logits(const Tensor& hidden) const;  // (B, T, C) -> (B, T, V / tp)
  // Every token's hidden state (B, T, C): gathered under sequence parallelism.
  Tensor whole_sequence(const Tensor& hidden) const;

  int64_t hidden_size_;
  std::string loss_;
  VocabShard shard_;
  int64_t vocab_size_;  // this rank's: V / tp
  Parameter& weight_;
};

}  // namespace me
