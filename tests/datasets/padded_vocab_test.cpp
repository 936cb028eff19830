// Padded vocabulary size (megatron-facts 2.1), with hand-computed values.
#include <doctest/doctest.h>

#include "engine/core/error.h"
#include "datasets/padded_vocab.h"

namespace me {
namespace {

TEST_CASE("padded_vocab_size rounds up to divisible_by times tp") {
  CHECK(padded_vocab_size(50257, 128, 1) == 50304);
  CHECK(padded_vocab_size(50257, 128, 8) == 51200);
  CHECK(padded_vocab_size(50304, 128, 1) == 50304);  // already a multiple
  CHECK(padded_vocab_size(61, 128, 1) == 128);
  CHECK(padded_vocab_size(61, 1, 1) == 61);
  CHECK(padded_vocab_size(32000, 128, 2) == 32000);
  CHECK(padded_vocab_size(32001, 128, 2) == 32256);
}

TEST_CASE("padded_vocab_size rejects non-positive inputs naming the field") {
  CHECK_THROWS_AS(padded_vocab_size(0, 128, 1), Error);
  CHECK_THROWS_WITH(padded_vocab_size(100, 0, 1),
                    doctest::Contains("model.make_vocab_size_divisible_by"));
  CHECK_THROWS_WITH(padded_vocab_size(100, 128, 0),
                    doctest::Contains("parallel.tensor_model_parallel_size"));
}

}  // namespace
}  // namespace me
