// TokenStore: opens and validates a token dataset (docs/formats.md) and reads token ranges from
// /tokens by hyperslab; /document_offsets is loaded once.
#include "datasets/token_store.h"

#include <fmt/format.h>

#include "datasets/hdf5_file.h"
#include "datasets/token_store_format.h"
#include "engine/core/error.h"

namespace me {
namespace {

std::string require_string(const H5File& file, const char* name) {
  auto value = file.string_attr(name);
  if (!value) throw Error(fmt::format("missing attribute '{}'", name), file.path());
  return *value;
}

int64_t require_int(const H5File& file, const char* name) {
  auto value = file.int_attr(name);
  if (!value) throw Error(fmt::format("missing attribute '{}'", name), file.path());
  return *value;
}

void check_format(const H5File& file) {
  auto format = file.string_attr("format");
  if (!format) {
    throw Error(fmt::format("not a megatron-engine token dataset: an HDF5 file without the "
                            "'format' attribute (expected '{}')",
                            token_format::kFormatName),
                file.path());
  }
  if (*format != token_format::kFormatName) {
    throw Error(fmt::format("not a megatron-engine token dataset: format is '{}', expected '{}'",
                            *format, token_format::kFormatName),
                file.path());
  }
  const int64_t version = require_int(file, "format_version");
  if (version != token_format::kFormatVersion) {
    throw Error(fmt::format("unsupported format_version {} (this build reads version {})", version,
                            token_format::kFormatVersion),
                file.path());
  }
}

TokenStoreMeta read_meta(const H5File& file) {
  TokenStoreMeta meta;
  meta.tokenizer_type = require_string(file, "tokenizer_type");
  meta.tokenizer_sha256 = require_string(file, "tokenizer_sha256");
  meta.vocab_size = require_int(file, "vocab_size");
  const int64_t eod = require_int(file, "eod_id");
  if (meta.vocab_size <= 0) {
    throw Error(fmt::format("vocab_size {} is not positive", meta.vocab_size), file.path());
  }
  if (eod < 0 || eod >= meta.vocab_size) {
    throw Error(fmt::format("eod_id {} outside the vocabulary [0, {})", eod, meta.vocab_size),
                file.path());
  }
  meta.eod_id = static_cast<int32_t>(eod);
  if (auto sources = file.string_attr("sources")) {
    meta.sources = token_format::sources_from_json(*sources, file.path());
  }
  return meta;
}

// The stored token type must hold every id below vocab_size.
void check_tokens_dataset(const H5Dataset& tokens, const TokenStoreMeta& meta,
                          const std::string& path) {
  if (tokens.dims().size() != 1) throw Error("/tokens is not 1-D", path);
  if (!tokens.is_integer()) throw Error("/tokens is not an integer dataset", path);
  const size_t size = tokens.element_size();
  const bool is_signed = tokens.is_signed();
  int64_t max_vocab = 0;
  if (size == 2 && !is_signed) {
    max_vocab = token_format::kMaxVocabForUint16;
  } else if (size == 4 && is_signed) {
    max_vocab = token_format::kMaxVocabForInt32;
  } else {
    throw Error(fmt::format("/tokens has a {}-byte {} integer type; expected uint16 or int32", size,
                            is_signed ? "signed" : "unsigned"),
                path);
  }
  if (meta.vocab_size > max_vocab) {
    throw Error(fmt::format("/tokens is {} but vocab_size {} needs ids up to {}",
                            size == 2 ? "uint16" : "int32", meta.vocab_size, meta.vocab_size - 1),
                path);
  }
  if (!tokens.is_contiguous()) throw Error("/tokens is not stored contiguously", path);
}

std::vector<int64_t> read_offsets(const H5Dataset& offsets_ds, int64_t num_tokens,
                                  const std::string& path) {
  const auto dims = offsets_ds.dims();
  if (dims.size() != 1 || dims[0] < 1) {
    throw Error("/document_offsets must be 1-D with n_documents + 1 >= 1 entries", path);
  }
  std::vector<int64_t> offsets(static_cast<size_t>(dims[0]));
  offsets_ds.read_rows(H5T_NATIVE_INT64, 0, dims[0], offsets.data());
  if (offsets[0] != 0) {
    throw Error(fmt::format("/document_offsets starts at {}, expected 0", offsets[0]), path);
  }
  for (size_t i = 1; i < offsets.size(); ++i) {
    if (offsets[i] < offsets[i - 1]) {
      throw Error(fmt::format("/document_offsets not monotonic: entry {} is {} after {}", i,
                              offsets[i], offsets[i - 1]),
                  path);
    }
  }
  if (offsets.back() != num_tokens) {
    throw Error(fmt::format("/document_offsets ends at {} but /tokens holds {} tokens",
                            offsets.back(), num_tokens),
                path);
  }
  return offsets;
}

}  // namespace

struct TokenStore::Impl {
  H5File file;
  H5Dataset tokens;
  TokenStoreMeta meta;
  std::vector<int64_t> offsets;
};

std::shared_ptr<TokenStore> TokenStore::open(const std::string& path) {
  H5File file = H5File::open_read(path);
  check_format(file);
  TokenStoreMeta meta = read_meta(file);
  for (const char* name : {token_format::kTokens, token_format::kDocumentOffsets}) {
    if (!file.has_dataset(name)) throw Error(fmt::format("missing dataset /{}", name), path);
  }
  H5Dataset tokens = file.open_dataset(token_format::kTokens);
  check_tokens_dataset(tokens, meta, path);
  const int64_t num_tokens = tokens.dims()[0];
  std::vector<int64_t> offsets =
      read_offsets(file.open_dataset(token_format::kDocumentOffsets), num_tokens, path);
  auto impl = std::unique_ptr<Impl>(
      new Impl{std::move(file), std::move(tokens), std::move(meta), std::move(offsets)});
  return std::shared_ptr<TokenStore>(new TokenStore(std::move(impl)));
}

TokenStore::TokenStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TokenStore::~TokenStore() = default;

const std::string& TokenStore::path() const { return impl_->file.path(); }
const TokenStoreMeta& TokenStore::meta() const { return impl_->meta; }
int64_t TokenStore::num_documents() const {
  return static_cast<int64_t>(impl_->offsets.size()) - 1;
}
int64_t TokenStore::num_tokens() const { return impl_->offsets.back(); }

int64_t TokenStore::document_length(int64_t doc) const {
  ME_CHECK(doc >= 0 && doc < num_documents(), "document {} outside [0, {})", doc, num_documents());
  return impl_->offsets[doc + 1] - impl_->offsets[doc];
}

void TokenStore::read_tokens(int64_t begin, int64_t end, int32_t* out) const {
  ME_CHECK(begin >= 0 && begin <= end && end <= num_tokens(), "tokens [{}, {}) outside [0, {})",
           begin, end, num_tokens());
  impl_->tokens.read_rows(H5T_NATIVE_INT32, begin, end - begin, out);
}

std::vector<int32_t> TokenStore::document(int64_t doc) const {
  std::vector<int32_t> out(static_cast<size_t>(document_length(doc)));
  read_tokens(impl_->offsets[doc], impl_->offsets[doc + 1], out.data());
  return out;
}

const std::vector<int64_t>& TokenStore::document_offsets() const { return impl_->offsets; }

}  // namespace me
