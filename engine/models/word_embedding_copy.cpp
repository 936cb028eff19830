// Declared exactly as LanguageModelEmbedding declares its word table.
#include "engine/models/word_embedding_copy.h"

#include "engine/nn/tensor_parallel.h"
#include "engine/nn/vocab_parallel_cross_entropy.h"
#include "engine/recipe/recipe.h"

namespace me {

WordEmbeddingCopy::WordEmbeddingCopy(const Recipe& recipe, int64_t padded_vocab_size)
    : Module("embedding"),
      weight_(add_parameter(
          "word_embeddings.weight",
          {VocabShard::of(TensorParallel::current(), padded_vocab_size).vocab_size,
           recipe.model.hidden_size},
          ParamInit::normal(
              recipe.model.embedding_init_method_std.value_or(recipe.model.init_method_std)),
          true)) {
  weight_.partition = TensorParallel::current().partition(0);
}

}  // namespace me
