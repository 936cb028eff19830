// Tokenizer interface and registry. Names are Megatron's --tokenizer-type values where they exist
// ("GPT2BPETokenizer", "HuggingFaceTokenizer") plus "byte" (raw UTF-8 bytes, no files).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/registry/registry.h"

namespace me {

// The files a tokenizer is built from (Megatron's flag names); which are required depends on type.
struct TokenizerFiles {
  std::optional<std::string> vocab_file;       // vocab.json (GPT2BPETokenizer)
  std::optional<std::string> merge_file;       // merges.txt (GPT2BPETokenizer)
  std::optional<std::string> tokenizer_model;  // tokenizer.json (HuggingFaceTokenizer)
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  virtual int64_t vocab_size() const = 0;  // unpadded
  virtual int32_t eod_id() const = 0;      // end-of-document token appended by --append-eod
  virtual std::string type() const = 0;    // the registered name
  // sha256 of the files it was loaded from (recorded in datasets and checkpoints); "" for byte.
  virtual std::string files_sha256() const = 0;
};

ME_DECLARE_REGISTRY(TokenizerRegistry, "tokenizer", Tokenizer, const TokenizerFiles&);

}  // namespace me
