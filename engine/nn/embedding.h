// Input embedding (Megatron mcore LanguageModelEmbedding): word embeddings over the padded vocab
// plus learned absolute positions (none with RoPE), then dropout with model.hidden_dropout.
#pragma once

#include <cstdint>
#include <string>

#include "engine/nn/dropout.h"
#include "engine/nn/module.h"

namespace me {

class LanguageModelEmbedding final : public Module {
 public:
  struct Saved {
    Tensor tokens;        // (N) i32
    Tensor position_ids;  // (N) i32
  };

  // Declares `<name>.word_embeddings.weight` (padded_vocab_size, C) and
  // `<name>.position_embeddings.weight` (max_position_embeddings, C) when
  // model.position_embedding_type is learned_absolute, both N(0, embedding_init_method_std or
  // init_method_std).
  LanguageModelEmbedding(const std::string& name, const Recipe& recipe, int64_t padded_vocab_size);

  // tokens, position_ids: (B, T) integer -> (B, T, C) in the embedding table's dtype.
  Tensor forward(const Tensor& tokens, const Tensor& position_ids, MicroBatchContext& ctx);
  // Accumulates into the tables' gradients; the inputs are integers, so nothing is returned.
  void backward(const Tensor& dy, MicroBatchContext& ctx);

  Parameter& word_embeddings() { return word_embeddings_; }

 private:
  int64_t hidden_size_;
  Parameter& word_embeddings_;
  Parameter* position_embeddings_;  // null unless learned_absolute
  Dropout embedding_dropout_;
};

// Integer ids as i32 on the same device (batches may carry i64).
Tensor as_int32(const Tensor& ids);

}  // namespace me
