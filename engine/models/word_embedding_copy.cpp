// Declared exactly as LanguageModelEmbedding declares its word table.
#include "engine/models/word_embedding_copy.h"

#include "engine/nn/tensor_parallel.h"
#include "engine/nn/vocab_parallel_cross_entropy.h"

namespace me {

WordEmbeddingCopy::WordEmbeddingCopy(const EmbeddingConfig& config)
    : Module("embedding"),
      weight_(
          add_parameter("word_embeddings.weight",
                        {VocabShard::of(TensorParallel::current(), config.vocab_size).vocab_size,
                         config.hidden_size},
                        ParamInit::normal(config.init_std), true)) {
  weight_.partition = TensorParallel::current().partition(0);
}

}  // namespace me
