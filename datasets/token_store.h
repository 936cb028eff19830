// The HDF5 token dataset (docs/formats.md): /tokens (contiguous uint16 or int32),
// /document_offsets (int64, n_documents + 1) and attributes. Written under a temporary name and
// renamed when complete; validated on open.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace me {

struct SourceFile {
  std::string path;
  int64_t bytes = 0;
  std::string sha256;
};

struct TokenStoreMeta {
  std::string tokenizer_type;
  std::string tokenizer_sha256;
  int64_t vocab_size = 0;
  int32_t eod_id = -1;
  std::vector<SourceFile> sources;
};

// Appends documents; finish() flushes, closes and renames the temporary file onto `path`.
// Destroyed without finish() (an error, a crash), it removes the temporary file: a failed ingest
// never leaves a file that looks valid.
class TokenStoreWriter {
 public:
  TokenStoreWriter(std::string path, TokenStoreMeta meta);
  ~TokenStoreWriter();
  void add_document(std::span<const int32_t> tokens);
  // A document written in pieces (bounded memory for huge documents): append_tokens any number of
  // times, then end_document. add_document(t) is append_tokens(t) then end_document().
  void append_tokens(std::span<const int32_t> tokens);
  void end_document();
  // Drops the tokens appended since the last end_document() (a document found bad midway).
  void discard_document();
  void finish();
  int64_t num_documents() const;
  int64_t num_tokens() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A validated, read-only token dataset.
class TokenStore {
 public:
  // Throws me::Error naming the file and what is wrong (not HDF5, wrong format name or version,
  // missing dataset, offsets not monotonic or out of bounds, token dtype too small for vocab_size).
  static std::shared_ptr<TokenStore> open(const std::string& path);
  ~TokenStore();

  const std::string& path() const;
  const TokenStoreMeta& meta() const;
  int64_t num_documents() const;
  int64_t num_tokens() const;
  int64_t document_length(int64_t doc) const;
  // Copies tokens [begin, end) of the concatenated stream into out (as int32).
  void read_tokens(int64_t begin, int64_t end, int32_t* out) const;
  std::vector<int32_t> document(int64_t doc) const;
  const std::vector<int64_t>& document_offsets() const;

 private:
  struct Impl;
  explicit TokenStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace me
