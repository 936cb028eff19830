// The padded vocabulary size (Megatron's _vocab_size_with_padding): the embedding and output
// layer have this many rows so the vocabulary splits evenly over tensor-parallel ranks.
#pragma once

#include <cstdint>

namespace me {

// ceil(vocab / (divisible_by * tp)) * divisible_by * tp; e.g. 50257 -> 50304 (tp 1), 51200 (tp 8).
int64_t padded_vocab_size(int64_t vocab, int64_t divisible_by, int64_t tp);

}  // namespace me
