// Converting a Megatron indexed dataset (PREFIX.bin / PREFIX.idx, megatron-facts 3.1) into an
// HDF5 token dataset, so corpora preprocessed for Megatron need no re-tokenizing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/tokenizer.h"

namespace me {

// The validated contents of a .idx file.
struct MegatronIndex {
  int dtype_code = 0;                   // 1 uint8, 2 int8, 3 int16, 4 int32, 5 int64, 8 uint16
  int64_t itemsize = 0;                 // bytes per token
  std::vector<int32_t> sizes;           // tokens per sequence
  std::vector<int64_t> pointers;        // byte offset of each sequence in .bin
  std::vector<int64_t> document_index;  // sequence where each document starts, then N
  int64_t num_sequences() const { return static_cast<int64_t>(sizes.size()); }
  int64_t num_documents() const { return static_cast<int64_t>(document_index.size()) - 1; }
};

// Reads and checks `idx_path` against a .bin of `bin_bytes` bytes: magic, version 1, an integer
// dtype code, counts that fit the file, non-negative sizes, pointers the running sum of
// size * itemsize from 0, a document index from 0 to N, non-decreasing, and a .bin exactly as
// long as the sequences. Throws me::Error naming the file and the rule.
MegatronIndex read_megatron_index(const std::string& idx_path, int64_t bin_bytes);

struct MegatronImportOptions {
  std::string prefix;  // reads PREFIX.idx and PREFIX.bin
  std::string output;  // the .h5 file, written under a temporary name and renamed
  std::string tokenizer_type;
  TokenizerFiles tokenizer_files;
  // Megatron's GPTDataset trains on sequences (sentences with --split-sentences); by default a
  // document of the output is a Megatron document (its sequences concatenated).
  bool sequences_as_documents = false;
};

struct MegatronImportSummary {
  int64_t sequences = 0;
  int64_t documents = 0;  // written
  int64_t tokens = 0;
};

// Streams the tokens (blocks of 2^20) into a TokenStoreWriter; ids outside the tokenizer's
// vocabulary are a me::Error naming the output.
MegatronImportSummary import_megatron(const MegatronImportOptions& options);

}  // namespace me
