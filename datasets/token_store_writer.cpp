// TokenStoreWriter: tokens are written once, straight to where /tokens' data will lie. The
// temporary file starts as an HDF5 file with nothing in it; tokens stream to byte kTokensOffset
// beyond its end; finish() reopens it with HDF5's alignment set so that the contiguous /tokens,
// created with its final size and never filled, is placed at kTokensOffset over the streamed
// bytes; the offsets and attributes follow, and the file is renamed onto the target.
#include <fcntl.h>
#include <unistd.h>

#include <bit>
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

// The file offset of /tokens' data. HDF5 places a data object of at least kAlignThreshold bytes at
// a multiple of kTokensOffset; the empty file's metadata (superblock, root group) is far smaller.
// Fewer token bytes than the threshold (or an HDF5 placing it elsewhere) are copied into place.
constexpr int64_t kTokensOffset = int64_t{64} << 10;
constexpr int64_t kAlignThreshold = 4096;
constexpr int64_t kCopyBlockBytes = int64_t{4} << 20;
// Tokens are streamed in memory order into little-endian datasets.
static_assert(std::endian::native == std::endian::little);

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
  TokenStoreMeta meta;
  bool use_uint16 = false;
  std::FILE* out = nullptr;  // temp_path, positioned after the tokens streamed so far
  std::vector<int64_t> offsets{0};
  int64_t written = 0;  // tokens streamed, including the open document's
  bool finished = false;

  size_t element_size() const { return use_uint16 ? sizeof(uint16_t) : sizeof(int32_t); }
  void write_raw(std::span<const int32_t> tokens);
  void write_hdf5();
  // Copies the streamed bytes into /tokens when HDF5 did not place it over them.
  void move_tokens(H5Dataset& tokens, int64_t at);
  void remove_temporaries();
};

void TokenStoreWriter::Impl::write_raw(std::span<const int32_t> tokens) {
  size_t done = 0;
  if (use_uint16) {
    std::vector<uint16_t> narrow(tokens.begin(), tokens.end());
    done = std::fwrite(narrow.data(), sizeof(uint16_t), narrow.size(), out);
  } else {
    done = std::fwrite(tokens.data(), sizeof(int32_t), tokens.size(), out);
  }
  if (done != tokens.size()) {
    throw Error(fmt::format("cannot write tokens to {} (disk full?)", temp_path), path);
  }
}

void TokenStoreWriter::Impl::write_hdf5() {
  const int64_t num_tokens = offsets.back();
  H5File file = H5File::open_write(temp_path, kAlignThreshold, kTokensOffset);
  {
    H5Dataset tokens =
        file.create_dataset(token_format::kTokens, use_uint16 ? H5T_STD_U16LE : H5T_STD_I32LE,
                            {num_tokens}, /*reserve_only=*/true);
    const int64_t at = tokens.file_offset();
    if (at != kTokensOffset && num_tokens > 0) move_tokens(tokens, at);
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

void TokenStoreWriter::Impl::move_tokens(H5Dataset& tokens, int64_t at) {
  // The dataset's space and the streamed bytes may overlap: copy away from the overlap, as
  // memmove does (ascending when the dataset lies before the streamed bytes).
  const int64_t elem = static_cast<int64_t>(element_size());
  const int64_t num_tokens = offsets.back();
  const int64_t block = kCopyBlockBytes / elem;
  const int64_t blocks = (num_tokens + block - 1) / block;
  std::vector<char> buffer(static_cast<size_t>(std::min(num_tokens, block) * elem));
  std::FILE* in = std::fopen(temp_path.c_str(), "rb");
  if (!in) throw Error(fmt::format("cannot reopen {}", temp_path), path);
  for (int64_t i = 0; i < blocks; ++i) {
    const int64_t begin = (at >= 0 && at < kTokensOffset ? i : blocks - 1 - i) * block;
    const int64_t n = std::min(block, num_tokens - begin);
    const bool read =
        std::fseek(in, static_cast<long>(kTokensOffset + begin * elem), SEEK_SET) == 0 &&
        std::fread(buffer.data(), static_cast<size_t>(elem), static_cast<size_t>(n), in) ==
            static_cast<size_t>(n);
    if (!read) {
      std::fclose(in);
      throw Error(fmt::format("{} is short of its streamed tokens", temp_path), path);
    }
    tokens.write_rows(use_uint16 ? H5T_NATIVE_UINT16 : H5T_NATIVE_INT32, begin, n, buffer.data());
  }
  std::fclose(in);
}

void TokenStoreWriter::Impl::remove_temporaries() {
  if (out) {
    std::fclose(out);
    out = nullptr;
  }
  std::error_code ec;
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
  impl_->use_uint16 = meta.vocab_size <= token_format::kMaxUint16Vocab;
  impl_->meta = std::move(meta);
  H5File::create(impl_->temp_path).close();
  impl_->out = std::fopen(impl_->temp_path.c_str(), "r+b");
  if (!impl_->out || std::fseek(impl_->out, kTokensOffset, SEEK_SET) != 0) {
    impl_->remove_temporaries();
    throw Error(fmt::format("cannot write the temporary file {}", impl_->temp_path), path);
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

void TokenStoreWriter::discard_document() {
  ME_CHECK(!impl_->finished, "discard_document after finish on {}", impl_->path);
  const int64_t at = kTokensOffset + impl_->offsets.back() * int64_t(impl_->element_size());
  if (std::fseek(impl_->out, static_cast<long>(at), SEEK_SET) != 0) {
    throw Error(fmt::format("cannot seek in {}", impl_->temp_path), impl_->path);
  }
  impl_->written = impl_->offsets.back();
}

void TokenStoreWriter::finish() {
  ME_CHECK(!impl_->finished, "finish called twice on {}", impl_->path);
  ME_CHECK(impl_->written == impl_->offsets.back(), "finish with an open document on {}",
           impl_->path);
  const int close_status = std::fclose(impl_->out);
  impl_->out = nullptr;
  if (close_status != 0) {
    throw Error(fmt::format("cannot write tokens to {} (disk full?)", impl_->temp_path),
                impl_->path);
  }
  impl_->write_hdf5();
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
