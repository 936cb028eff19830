// The last pipeline stage's copy of the tied word embeddings (Megatron's shared embedding weight
// on the last stage): `embedding.word_embeddings.weight` with the first stage's shape, vocabulary
// shard and init, so both copies start equal (init derives from name and seed) and stay equal
// because the trainer all-reduces the gradients of tied copies over the embedding group; the
// first stage's table is the copy the gradient norm counts.
#pragma once

#include <cstdint>

#include "engine/nn/embedding.h"
#include "engine/nn/module.h"

namespace me {

class WordEmbeddingCopy final : public Module {
 public:
  // config.tied_copy_key: the key the first stage's table declares.
  explicit WordEmbeddingCopy(const EmbeddingConfig& config);

  Parameter& weight() { return weight_; }

 private:
  Parameter& weight_;
};

}  // namespace me
