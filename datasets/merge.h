// Merging token datasets (Megatron's tools/merge_datasets.py): documents concatenated in the
// given order into one new file, which every input must share a tokenizer with.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace me {

struct MergeSummary {
  int64_t documents = 0;
  int64_t tokens = 0;
};

// Copies the documents of `inputs`, in order, into `output` through TokenStoreWriter (temporary
// file, renamed when complete) in blocks of at most 2^20 tokens, so memory stays bounded (plus the
// offsets, 8 bytes a document). The output's `sources` attribute is the inputs' sources in order.
// Throws me::Error naming both files when two inputs were tokenized differently, and for no
// inputs or an output that is also an input.
MergeSummary merge_token_stores(const std::vector<std::string>& inputs, const std::string& output);

}  // namespace me
