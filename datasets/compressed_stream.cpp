// Decompressing std::streambufs over zlib's inflate (gzip members, windowBits 15 + 16) and zstd's
// ZSTD_decompressStream, with 256 KiB input and output buffers.
#include "datasets/compressed_stream.h"

#include <fmt/format.h>
#include <zlib.h>
#ifdef ME_WITH_ZSTD
#include <zstd.h>
#endif

#include <array>
#include <filesystem>
#include <fstream>
#include <streambuf>

#include "engine/core/error.h"

namespace me {
namespace {

constexpr size_t kBufferBytes = size_t{1} << 18;

// Shared buffering: refills the get area with decompress(), which subclasses implement.
class DecompressingBuf : public std::streambuf {
 public:
  explicit DecompressingBuf(const std::string& path) : file_(path, std::ios::binary) {}
  bool is_open() const { return file_.is_open(); }
  const std::string& error() const { return error_; }
  int64_t consumed() const { return consumed_; }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    while (true) {
      const size_t n = decompress();
      if (!error_.empty()) throw std::ios_base::failure(error_);
      if (n > 0) {
        setg(out_.data(), out_.data(), out_.data() + n);
        return traits_type::to_int_type(*gptr());
      }
      if (input_exhausted()) return traits_type::eof();
    }
  }
  // Fills out_ with up to kBufferBytes decompressed bytes; 0 when it needs more input.
  virtual size_t decompress() = 0;
  // Reads more compressed bytes into in_ when all were consumed; false at the end of the file.
  bool refill() {
    if (in_begin_ < in_end_) return true;
    file_.read(in_.data(), static_cast<std::streamsize>(in_.size()));
    in_begin_ = 0;
    in_end_ = static_cast<size_t>(file_.gcount());
    consumed_ += static_cast<int64_t>(in_end_);
    return in_end_ > 0;
  }
  bool input_exhausted() const { return in_begin_ >= in_end_ && file_.eof(); }

  std::ifstream file_;
  std::array<char, kBufferBytes> in_{};
  std::array<char, kBufferBytes> out_{};
  size_t in_begin_ = 0, in_end_ = 0;
  int64_t consumed_ = 0;
  std::string error_;
};

class GzipBuf final : public DecompressingBuf {
 public:
  explicit GzipBuf(const std::string& path) : DecompressingBuf(path) {
    if (inflateInit2(&z_, 15 + 16) != Z_OK) error_ = "cannot initialise zlib";
  }
  ~GzipBuf() override { inflateEnd(&z_); }

 private:
  size_t decompress() override {
    if (!refill()) {
      if (member_open_) error_ = "truncated gzip data (the file ends inside a member)";
      return 0;
    }
    z_.next_in = reinterpret_cast<Bytef*>(in_.data() + in_begin_);
    z_.avail_in = static_cast<uInt>(in_end_ - in_begin_);
    z_.next_out = reinterpret_cast<Bytef*>(out_.data());
    z_.avail_out = static_cast<uInt>(out_.size());
    const int rc = inflate(&z_, Z_NO_FLUSH);
    in_begin_ = in_end_ - z_.avail_in;
    const size_t produced = out_.size() - z_.avail_out;
    member_open_ = true;
    if (rc == Z_STREAM_END) {
      inflateReset(&z_);  // another gzip member may follow
      member_open_ = false;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      error_ = fmt::format("corrupt gzip data ({})", z_.msg ? z_.msg : "zlib error");
    }
    return produced;
  }

  z_stream z_{};
  bool member_open_ = false;
};

#ifdef ME_WITH_ZSTD
class ZstdBuf final : public DecompressingBuf {
 public:
  explicit ZstdBuf(const std::string& path) : DecompressingBuf(path), z_(ZSTD_createDStream()) {
    if (!z_) error_ = "cannot initialise zstd";
  }
  ~ZstdBuf() override { ZSTD_freeDStream(z_); }

 private:
  size_t decompress() override {
    if (!refill()) {
      if (frame_open_) error_ = "truncated zstd data (the file ends inside a frame)";
      return 0;
    }
    ZSTD_inBuffer in{in_.data() + in_begin_, in_end_ - in_begin_, 0};
    ZSTD_outBuffer out{out_.data(), out_.size(), 0};
    const size_t rc = ZSTD_decompressStream(z_, &out, &in);
    in_begin_ += in.pos;
    if (ZSTD_isError(rc)) {
      error_ = fmt::format("corrupt zstd data ({})", ZSTD_getErrorName(rc));
      return 0;
    }
    frame_open_ = rc != 0;  // 0: a frame just ended
    return out.pos;
  }

  ZSTD_DStream* z_;
  bool frame_open_ = false;
};
#endif

// An istream that owns its buffer and can report the buffer's error.
class OwningStream final : public std::istream {
 public:
  explicit OwningStream(std::unique_ptr<DecompressingBuf> buf)
      : std::istream(buf.get()), buf_(std::move(buf)) {}
  const std::string& error() const { return buf_->error(); }
  int64_t consumed() const { return buf_->consumed(); }

 private:
  std::unique_ptr<DecompressingBuf> buf_;
};

}  // namespace

Compression compression_of(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".gz") return Compression::kGzip;
  if (ext == ".zst") return Compression::kZstd;
  return Compression::kNone;
}

std::string without_compression_extension(const std::string& path) {
  if (compression_of(path) == Compression::kNone) return path;
  return std::filesystem::path(path).replace_extension().string();
}

std::unique_ptr<std::istream> open_input_stream(const std::string& path) {
  std::unique_ptr<DecompressingBuf> buf;
  switch (compression_of(path)) {
    case Compression::kNone: {
      auto file = std::make_unique<std::ifstream>(path, std::ios::binary);
      if (!*file) throw Error("cannot open input file", path);
      return file;
    }
    case Compression::kGzip:
      buf = std::make_unique<GzipBuf>(path);
      break;
    case Compression::kZstd:
#ifdef ME_WITH_ZSTD
      buf = std::make_unique<ZstdBuf>(path);
      break;
#else
      throw Error("this build has no zstd support (install libzstd-dev and rebuild)", path);
#endif
  }
  if (!buf->is_open()) throw Error("cannot open input file", path);
  if (!buf->error().empty()) throw Error(buf->error(), path);
  return std::make_unique<OwningStream>(std::move(buf));
}

std::string stream_error(const std::istream& stream) {
  const auto* owning = dynamic_cast<const OwningStream*>(&stream);
  return owning ? owning->error() : "";
}

int64_t compressed_bytes_read(const std::istream& stream) {
  const auto* owning = dynamic_cast<const OwningStream*>(&stream);
  return owning ? owning->consumed() : -1;
}

}  // namespace me
