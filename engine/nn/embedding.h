// Input embedding (Megatron mcore LanguageModelEmbedding): word embeddings over the padded vocab
// plus learned absolute positions (none with RoPE), then dropout. Under
// tensor parallelism the word table is vocab-parallel (Megatron's VocabParallelEmbedding): each
// rank holds rows [r V / tp, (r + 1) V / tp), looks up the tokens it owns and the rows are summed
// over the group; the position table is whole on every rank. Under sequence parallelism the sum
// is a reduce-scatter: the output is this rank's token rows (B, T / tp, C), which get their
// positions and dropout there (Megatron reduce-scatters when it has no learned positions, and
// otherwise splits after adding them: the same rows either way).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/nn/dropout.h"
#include "engine/nn/module.h"
#include "engine/nn/vocab_parallel_cross_entropy.h"

namespace me {

struct EmbeddingConfig {
  int64_t vocab_size = 0;  // the padded vocabulary, all tensor-parallel ranks together
  int64_t hidden_size = 0;
  int64_t max_position_embeddings = 0;  // rows of the learned position table; 0: no table
  double init_std = 0.02;
  double dropout = 0.0;
  // Another pipeline stage holds a copy of the word table under this key (the tied LM head's
  // copy on the last stage); this table is the copy the gradient norm counts.
  std::optional<std::string> tied_copy_key;
};

class LanguageModelEmbedding final : public Module {
 public:
  struct Saved {
    Tensor tokens;        // (N) i32, indices into this rank's rows (-1: another rank's)
    Tensor position_ids;  // (N) i32; sequence parallel: this rank's N / tp token rows
  };

  // Declares `<name>.word_embeddings.weight` (vocab_size, C) and, with max_position_embeddings,
  // `<name>.position_embeddings.weight` (max_position_embeddings, C), both N(0, init_std).
  LanguageModelEmbedding(const std::string& name, const EmbeddingConfig& config);

  // tokens, position_ids: (B, T) integer -> (B, T, C) in the embedding table's dtype; (B, T / tp,
  // C) under sequence parallelism.
  Tensor forward(const Tensor& tokens, const Tensor& position_ids, MicroBatchContext& ctx);
  // Accumulates into the tables' gradients; the inputs are integers, so nothing is returned.
  void backward(const Tensor& dy, MicroBatchContext& ctx);

  Parameter& word_embeddings() { return word_embeddings_; }
  // This rank's slice of the padded vocabulary (everything at tp 1).
  const VocabShard& vocab_shard() const { return shard_; }
  // query.rows: rows of its output per token (1 / tp under sequence parallelism). Keeps its own
  // token ids where it maps them to this rank's rows (tp > 1; at tp 1 they are the batch's, and
  // the positions always are: the model counts those). Backward holds dy, the dropout's gradient
  // and under sequence parallelism every token's gradient, gathered for the word table.
  ModuleCost cost(const CostQuery& query) const;

 private:
  int64_t hidden_size_;
  VocabShard shard_;
  Parameter& word_embeddings_;
  Parameter* position_embeddings_;  // null unless learned_absolute
  Dropout embedding_dropout_;
};

// Integer ids as i32 on the same device (batches may carry i64).
Tensor as_int32(const Tensor& ids);

}  // namespace me
