// Where a GPTDataset reads documents from: an HDF5 token store, or Megatron's mock corpus
// (MockGPTLowLevelDataset, data.mock_data) generated on the fly.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace me {

class DocumentSource {
 public:
  virtual ~DocumentSource() = default;
  virtual const std::string& name() const = 0;                       // the file path, or "<mock>"
  virtual const std::vector<int64_t>& document_offsets() const = 0;  // n_documents + 1
  virtual int32_t eod_id() const = 0;
  // Tokens [begin, end) of the concatenated stream.
  virtual void read_tokens(int64_t begin, int64_t end, int32_t* out) const = 0;
  // What identifies the contents for the index cache (path, size, mtime); "" means do not cache.
  virtual std::string fingerprint() const = 0;

  int64_t num_documents() const { return static_cast<int64_t>(document_offsets().size()) - 1; }
};

// `path` itself, or `path`.h5 when only that exists (Megatron-style prefixes).
std::string resolve_token_store_path(const std::string& path);

// The token store at resolve_token_store_path(path); throws me::Error.
std::shared_ptr<DocumentSource> open_token_store_source(const std::string& path);

// 100,000 documents with lengths uniform in [1, 4096) drawn from mt19937_64(0); document d is
// 1, 2, ..., len - 1 (mod vocab_size) followed by EOD = vocab_size - 1 (NullTokenizer's eod).
std::shared_ptr<DocumentSource> make_mock_source(int64_t vocab_size);

}  // namespace me
