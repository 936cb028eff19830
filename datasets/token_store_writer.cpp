// TokenStoreWriter: streams tokens to a raw temporary file (bounded memory), then at finish()
// copies them into a contiguous /tokens in a temporary HDF5 file and renames it onto the target.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "datasets/hdf5_file.h"
#include "datasets/token_store.h"
#include "datasets/token_store_format.h"
#include "engine/core/build_info.h"
#include "engine/core/error.h"

namespace me {
namespace {

constexpr int64_t kCopyBlockTokens = int64_t{1} << 20;

// Flushes a finished file to disk before the rename makes it visible.
void fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

struct TokenStoreWriter::Impl {
  std::string path;
  std::string temp_path;  // the HDF5 file being assembled
  std::string raw_path;   // tokens streamed in their final dtype
  TokenStoreMeta meta;
  bool use_uint16 = false;
  std::FILE* raw = nullptr;
  std::vector<int64_t> offsets{0};
  int64_t written = 0;  // tokens streamed, including the open document's
  bool finished = false;

  void write_raw(std::span<const int32_t> tokens);
  void write_hdf5();
  void remove_temporaries();
};

void TokenStoreWriter::Impl::write_raw(std::span<const int32_t> tokens) {
  size_t written = 0;
  if (use_uint16) {
    std::vector<uint16_t> narrow(tokens.begin(), tokens.end());
    written = std::fwrite(narrow.data(), sizeof(uint16_t), narrow.size(), raw);
  } else {
    written = std::fwrite(tokens.data(), sizeof(int32_t), tokens.size(), raw);
  }
  if (written != tokens.size()) {
    throw Error(fmt::format("cannot write temporary token file {} (disk full?)", raw_path), path);
  }
}

void TokenStoreWriter::Impl::write_hdf5() {
  const int64_t num_tokens = offsets.back();
  H5File file = H5File::create(temp_path);
  {
    H5Dataset tokens = file.create_dataset(
        token_format::kTokens, use_uint16 ? H5T_STD_U16LE : H5T_STD_I32LE, {num_tokens});
    const hid_t mem_type = use_uint16 ? H5T_NATIVE_UINT16 : H5T_NATIVE_INT32;
    const size_t elem = use_uint16 ? sizeof(uint16_t) : sizeof(int32_t);
    std::vector<char> block(static_cast<size_t>(std::min(num_tokens, kCopyBlockTokens)) * elem);
    std::FILE* in = std::fopen(raw_path.c_str(), "rb");
    if (!in) throw Error(fmt::format("cannot reopen temporary token file {}", raw_path), path);
    for (int64_t begin = 0; begin < num_tokens; begin += kCopyBlockTokens) {
      const int64_t n = std::min(kCopyBlockTokens, num_tokens - begin);
      if (std::fread(block.data(), elem, static_cast<size_t>(n), in) != static_cast<size_t>(n)) {
        std::fclose(in);
        throw Error(fmt::format("temporary token file {} is short", raw_path), path);
      }
      tokens.write_rows(mem_type, begin, n, block.data());
    }
    std::fclose(in);
    H5Dataset doc_offsets = file.create_dataset(token_format::kDocumentOffsets, H5T_STD_I64LE,
                                                {static_cast<int64_t>(offsets.size())});
    doc_offsets.write_rows(H5T_NATIVE_INT64, 0, static_cast<int64_t>(offsets.size()),
                           offsets.data());
  }
  file.set_attr("format", std::string(token_format::kFormatName));
  file.set_attr("format_version", token_format::kFormatVersion);
  file.set_attr("tokenizer_type", meta.tokenizer_type);
  file.set_attr("tokenizer_sha256", meta.tokenizer_sha256);
  file.set_attr("vocab_size", meta.vocab_size);
  file.set_attr("eod_id", int64_t{meta.eod_id});
  file.set_attr("sources", token_format::sources_to_json(meta.sources));
  file.set_attr("tool_version", std::string(ME_VERSION));
  file.flush();
  file.close();
}

void TokenStoreWriter::Impl::remove_temporaries() {
  if (raw) {
    std::fclose(raw);
    raw = nullptr;
  }
  std::error_code ec;
  std::filesystem::remove(raw_path, ec);
  std::filesystem::remove(temp_path, ec);
}

TokenStoreWriter::TokenStoreWriter(std::string path, TokenStoreMeta meta)
    : impl_(std::make_unique<Impl>()) {
  if (meta.vocab_size <= 0 || meta.vocab_size > token_format::kMaxVocabForInt32) {
    throw Error(fmt::format("vocab_size {} outside [1, 2^31]", meta.vocab_size), path);
  }
  if (meta.eod_id < 0 || meta.eod_id >= meta.vocab_size) {
    throw Error(
        fmt::format("eod_id {} outside the vocabulary [0, {})", meta.eod_id, meta.vocab_size),
        path);
  }
  impl_->path = path;
  impl_->temp_path = fmt::format("{}.tmp-{}", path, ::getpid());
  impl_->raw_path = impl_->temp_path + ".raw";
  impl_->use_uint16 = meta.vocab_size <= token_format::kMaxUint16Vocab;
  impl_->meta = std::move(meta);
  impl_->raw = std::fopen(impl_->raw_path.c_str(), "wb");
  if (!impl_->raw) {
    throw Error(fmt::format("cannot create temporary file {}", impl_->raw_path), path);
  }
}

TokenStoreWriter::~TokenStoreWriter() {
  if (impl_->finished) return;
  try {
    impl_->remove_temporaries();
  } catch (const std::exception& e) {
    spdlog::warn("{}: could not remove temporary files: {}", impl_->path, e.what());
  }
}

void TokenStoreWriter::add_document(std::span<const int32_t> tokens) {
  append_tokens(tokens);
  end_document();
}

void TokenStoreWriter::append_tokens(std::span<const int32_t> tokens) {
  ME_CHECK(!impl_->finished, "append_tokens after finish on {}", impl_->path);
  const int64_t position = impl_->written - impl_->offsets.back();
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= impl_->meta.vocab_size) {
      throw Error(fmt::format("token id {} (document {}, position {}) outside the vocabulary "
                              "[0, {})",
                              tokens[i], num_documents(), position + static_cast<int64_t>(i),
                              impl_->meta.vocab_size),
                  impl_->path);
    }
  }
  impl_->write_raw(tokens);
  impl_->written += static_cast<int64_t>(tokens.size());
}

void TokenStoreWriter::end_document() {
  ME_CHECK(!impl_->finished, "end_document after finish on {}", impl_->path);
  impl_->offsets.push_back(impl_->written);
}

void TokenStoreWriter::finish() {
  ME_CHECK(!impl_->finished, "finish called twice on {}", impl_->path);
  ME_CHECK(impl_->written == impl_->offsets.back(), "finish with an open document on {}",
           impl_->path);
  if (std::fclose(impl_->raw) != 0) {
    impl_->raw = nullptr;
    throw Error(fmt::format("cannot write temporary token file {}", impl_->raw_path), impl_->path);
  }
  impl_->raw = nullptr;
  impl_->write_hdf5();
  std::error_code ec;
  std::filesystem::remove(impl_->raw_path, ec);
  fsync_path(impl_->temp_path);
  if (std::rename(impl_->temp_path.c_str(), impl_->path.c_str()) != 0) {
    throw Error(fmt::format("cannot rename {} onto the target", impl_->temp_path), impl_->path);
  }
  impl_->finished = true;
}

int64_t TokenStoreWriter::num_documents() const {
  return static_cast<int64_t>(impl_->offsets.size()) - 1;
}

int64_t TokenStoreWriter::num_tokens() const { return impl_->offsets.back(); }

}  // namespace me
