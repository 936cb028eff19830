// The vocabulary a run trains with or plans for: read from the data files' recorded tokenizer
// (training), or from the recipe's tokenizer without opening any data file (planning).
#pragma once

#include <cstdint>
#include <string>

namespace me {

struct Recipe;

// What the datasets say about their tokenizer (all data files must agree).
struct Vocabulary {
  std::string tokenizer_type;
  std::string tokenizer_sha256;
  int64_t vocab_size = 0;
  int64_t padded_vocab_size = 0;
};

// Training: mock data takes tokenizer.vocab_size (and tokenizer_type, NullTokenizer unless set);
// otherwise every data file's recorded tokenizer must agree, and with tokenizer.tokenizer_type.
// Padded to model.padded_vocab_size when set, else to a multiple of `pad_multiple` (the model's
// rule: make_vocab_size_divisible_by x tensor-parallel size). Throws me::Error naming the field.
Vocabulary training_vocabulary(const Recipe& recipe, int64_t pad_multiple);

// Planning (unpadded), never opening a data file: the tokenizer the recipe names, built from its
// files when every file it names exists (or from none, as byte); else tokenizer.vocab_size; else
// me::Error naming tokenizer.vocab_size, exit code kConfig, or kData when a named tokenizer file
// is missing.
int64_t planning_vocab_size(const Recipe& recipe);

}  // namespace me
