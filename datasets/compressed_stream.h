// Input streams for ingest that decompress on the fly: gzip (.gz, zlib) and Zstandard (.zst),
// each through a fixed-size buffer, so a compressed input of any size needs bounded memory.
#pragma once

#include <cstdint>
#include <istream>
#include <memory>
#include <string>

namespace me {

enum class Compression { kNone, kGzip, kZstd };

// By the last extension: .gz, .zst, or none.
Compression compression_of(const std::string& path);

// `path` without a .gz / .zst extension ("a.jsonl.gz" -> "a.jsonl").
std::string without_compression_extension(const std::string& path);

// A binary input stream over the decompressed contents of `path`. Several concatenated gzip
// members or zstd frames are read as one stream. Throws me::Error naming the file when it cannot
// be opened; corrupt compressed data sets badbit, and `stream_error(stream)` then says why.
std::unique_ptr<std::istream> open_input_stream(const std::string& path);

// Bytes of the file consumed so far by a decompressing stream from open_input_stream (read ahead
// in 256 KiB blocks); -1 for a plain file's stream, whose position is its own.
int64_t compressed_bytes_read(const std::istream& stream);

// Why a stream from open_input_stream went bad ("" when it did not, or for plain files).
std::string stream_error(const std::istream& stream);

// Whether this build reads .zst (libzstd-dev was found).
#ifdef ME_WITH_ZSTD
inline constexpr bool kHaveZstd = true;
#else
inline constexpr bool kHaveZstd = false;
#endif

}  // namespace me
