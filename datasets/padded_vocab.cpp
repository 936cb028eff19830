// Padded vocabulary size, megatron-facts 2.1.
#include "datasets/padded_vocab.h"

#include <string>

#include "engine/core/error.h"

namespace me {

int64_t padded_vocab_size(int64_t vocab, int64_t divisible_by, int64_t tp) {
  if (vocab < 1) {
    throw Error("vocabulary size " + std::to_string(vocab) + " must be >= 1",
                "tokenizer.vocab_size");
  }
  if (divisible_by < 1) {
    throw Error("make_vocab_size_divisible_by " + std::to_string(divisible_by) + " must be >= 1",
                "model.make_vocab_size_divisible_by");
  }
  if (tp < 1) {
    throw Error("tensor_model_parallel_size " + std::to_string(tp) + " must be >= 1",
                "parallel.tensor_model_parallel_size");
  }
  const int64_t multiple = divisible_by * tp;
  return (vocab + multiple - 1) / multiple * multiple;
}

}  // namespace me
