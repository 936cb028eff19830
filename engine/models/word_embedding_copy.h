// The last pipeline stage's copy of the tied word embeddings (Megatron's shared embedding weight
// on the last stage): `embedding.word_embeddings.weight` with the first stage's shape, vocabulary
// shard and init, so both copies start equal (init derives from name and seed) and stay equal
// because the trainer all-reduces their gradients over the embedding group.
#pragma once

#include <cstdint>

#include "engine/nn/embedding.h"
#include "engine/nn/module.h"

namespace me {

class WordEmbeddingCopy final : public Module {
 public:
  explicit WordEmbeddingCopy(const EmbeddingConfig& config);

  Parameter& weight() { return weight_; }

 private:
  Parameter& weight_;
};

// The name both copies share.
inline constexpr const char* kWordEmbeddingsName = "embedding.word_embeddings.weight";

}  // namespace me
