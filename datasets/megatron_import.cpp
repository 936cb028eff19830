// Megatron .idx parsing with a check per field, and the streaming .bin -> HDF5 conversion.
#include "datasets/megatron_import.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "datasets/sha256.h"
#include "datasets/token_store.h"
#include "engine/core/error.h"

namespace me {
namespace {

constexpr char kMagic[9] = {'M', 'M', 'I', 'D', 'I', 'D', 'X', '\0', '\0'};
constexpr int64_t kHeaderBytes = 34;
constexpr int64_t kBlockTokens = int64_t{1} << 20;

// Bytes per token for an integer dtype code; 0 for float codes and unknown ones.
int64_t itemsize_of(int code) {
  switch (code) {
    case 1:
    case 2:
      return 1;
    case 3:
    case 8:
      return 2;
    case 4:
      return 4;
    case 5:
      return 8;
  }
  return 0;
}

template <typename T>
T read_le(const std::string& bytes, int64_t at) {
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof(T));  // the engine runs on little-endian hosts
  return value;
}

int64_t token_at(const char* p, int code) {
  switch (code) {
    case 1:
      return *reinterpret_cast<const uint8_t*>(p);
    case 2:
      return *reinterpret_cast<const int8_t*>(p);
    case 3: {
      int16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    case 4: {
      int32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case 5: {
      int64_t v;
      std::memcpy(&v, p, 8);
      return v;
    }
    case 8: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
  }
  return -1;
}

std::string read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot open the Megatron {} file", what), path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Copies tokens of sequences [first, last) from `bin` into the writer, a block at a time.
void copy_sequences(std::ifstream& bin, const MegatronIndex& index, int64_t first, int64_t last,
                    TokenStoreWriter& writer, const std::string& bin_path) {
  std::vector<char> raw;
  std::vector<int32_t> tokens;
  for (int64_t s = first; s < last; ++s) {
    const int64_t size = index.sizes[static_cast<size_t>(s)];
    bin.seekg(index.pointers[static_cast<size_t>(s)]);
    for (int64_t done = 0; done < size; done += kBlockTokens) {
      const int64_t n = std::min(kBlockTokens, size - done);
      raw.resize(static_cast<size_t>(n * index.itemsize));
      if (!bin.read(raw.data(), static_cast<std::streamsize>(raw.size()))) {
        throw Error(fmt::format("cannot read sequence {} from the .bin file", s), bin_path);
      }
      tokens.resize(static_cast<size_t>(n));
      for (int64_t t = 0; t < n; ++t) {
        const int64_t id = token_at(raw.data() + t * index.itemsize, index.dtype_code);
        if (id < 0 || id > INT32_MAX) {
          throw Error(fmt::format("sequence {} holds token id {}, not a valid id", s, id),
                      bin_path);
        }
        tokens[static_cast<size_t>(t)] = static_cast<int32_t>(id);
      }
      writer.append_tokens(tokens);
    }
  }
}

}  // namespace

MegatronIndex read_megatron_index(const std::string& idx_path, int64_t bin_bytes) {
  const std::string bytes = read_file(idx_path, ".idx");
  const auto total = static_cast<int64_t>(bytes.size());
  auto fail = [&](const std::string& rule) { throw Error(rule, idx_path); };
  if (total < kHeaderBytes) fail(fmt::format("{} bytes, shorter than the 34-byte header", total));
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    fail("bad magic: not a Megatron .idx file (expected MMIDIDX\\0\\0)");
  }
  const auto version = read_le<uint64_t>(bytes, 9);
  if (version != 1) fail(fmt::format("version {}, only version 1 is known", version));
  MegatronIndex index;
  index.dtype_code = static_cast<uint8_t>(bytes[17]);
  index.itemsize = itemsize_of(index.dtype_code);
  if (index.itemsize == 0) {
    fail(fmt::format("dtype code {} is not an integer token type (1-5 or 8)", index.dtype_code));
  }
  const auto n = read_le<uint64_t>(bytes, 18);
  const auto m = read_le<uint64_t>(bytes, 26);
  const uint64_t room = static_cast<uint64_t>(total - kHeaderBytes);
  if (m == 0 || n > room / 12 || m > room / 8 || 12 * n + 8 * m > room) {
    fail(fmt::format("{} sequences and {} document entries do not fit the {} bytes of the file", n,
                     m, total));
  }
  index.sizes.resize(n);
  index.pointers.resize(n);
  index.document_index.resize(m);
  std::memcpy(index.sizes.data(), bytes.data() + kHeaderBytes, 4 * n);
  std::memcpy(index.pointers.data(), bytes.data() + kHeaderBytes + 4 * n, 8 * n);
  std::memcpy(index.document_index.data(), bytes.data() + kHeaderBytes + 12 * n, 8 * m);
  int64_t expected = 0;
  for (uint64_t s = 0; s < n; ++s) {
    if (index.sizes[s] < 0)
      fail(fmt::format("sequence {} has negative size {}", s, index.sizes[s]));
    if (index.pointers[s] != expected) {
      fail(
          fmt::format("sequence {} starts at byte {} of .bin, expected {} (the running sum of "
                      "sizes)",
                      s, index.pointers[s], expected));
    }
    expected += index.sizes[s] * index.itemsize;
  }
  if (expected != bin_bytes) {
    fail(fmt::format("the sequences need {} bytes of .bin but it holds {}", expected, bin_bytes));
  }
  const auto& docs = index.document_index;
  if (docs.front() != 0 || docs.back() != static_cast<int64_t>(n)) {
    fail(fmt::format("the document index runs from {} to {}, expected 0 to {} sequences",
                     docs.front(), docs.back(), n));
  }
  for (size_t d = 1; d < docs.size(); ++d) {
    if (docs[d] < docs[d - 1]) fail(fmt::format("the document index decreases at entry {}", d));
  }
  return index;
}

MegatronImportSummary import_megatron(const MegatronImportOptions& options) {
  const std::string idx_path = options.prefix + ".idx", bin_path = options.prefix + ".bin";
  for (const auto& path : {idx_path, bin_path}) {
    if (!std::filesystem::is_regular_file(path)) {
      throw Error("not found (--from-megatron PREFIX reads PREFIX.idx and PREFIX.bin)", path);
    }
  }
  const auto bin_bytes = static_cast<int64_t>(std::filesystem::file_size(bin_path));
  const MegatronIndex index = read_megatron_index(idx_path, bin_bytes);
  const auto tokenizer =
      TokenizerRegistry::instance().create(options.tokenizer_type, options.tokenizer_files);
  TokenStoreMeta meta;
  meta.tokenizer_type = tokenizer->type();
  meta.tokenizer_sha256 = tokenizer->files_sha256();
  meta.vocab_size = tokenizer->vocab_size();
  meta.eod_id = tokenizer->eod_id();
  for (const auto& path : {bin_path, idx_path}) {
    meta.sources.push_back(SourceFile{path, static_cast<int64_t>(std::filesystem::file_size(path)),
                                      sha256_file(path)});
  }
  std::ifstream bin(bin_path, std::ios::binary);
  if (!bin) throw Error("cannot open the Megatron .bin file", bin_path);
  TokenStoreWriter writer(options.output, meta);
  if (options.sequences_as_documents) {
    for (int64_t s = 0; s < index.num_sequences(); ++s) {
      copy_sequences(bin, index, s, s + 1, writer, bin_path);
      writer.end_document();
    }
  } else {
    for (int64_t d = 0; d < index.num_documents(); ++d) {
      copy_sequences(bin, index, index.document_index[static_cast<size_t>(d)],
                     index.document_index[static_cast<size_t>(d) + 1], writer, bin_path);
      writer.end_document();
    }
  }
  writer.finish();
  return {index.num_sequences(), writer.num_documents(), writer.num_tokens()};
}

}  // namespace me
