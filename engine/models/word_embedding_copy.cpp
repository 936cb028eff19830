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
  ME_CHECK(config.tied_copy_key, "the word-embedding copy without the key it is tied under");
  TensorParallel::current().set_sharded(weight_, 0);
  weight_.tied = {*config.tied_copy_key, false};
}

}  // namespace me
