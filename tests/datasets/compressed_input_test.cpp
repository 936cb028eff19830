// Compressed ingest inputs: .jsonl.gz (several gzip members) and .jsonl.zst / .txt.zst, written
// here with zlib's gzwrite and zstd's ZSTD_compress, ingest to the same documents as the plain
// files; corrupt or truncated data is an error naming the file.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#ifdef ME_WITH_ZSTD
#include <zstd.h>
#endif

#include "datasets/compressed_stream.h"
#include "datasets/ingest.h"
#include "datasets/ingest_input.h"
#include "datasets/token_store.h"
#include "engine/core/error.h"
#include "tests/support/process.h"

namespace me {
namespace {

// About 1.3 MB of JSON lines, so decompression crosses many 256 KiB buffers.
std::string big_jsonl() {
  std::string out;
  for (int d = 0; d < 6000; ++d) {
    std::string text;
    for (int w = 0; w < 1 + d % 37; ++w) text += fmt::format("wörd{} 日本 ", (d * 31 + w) % 997);
    out += fmt::format("{{\"text\": \"{}\"}}\n", text);
  }
  return out;
}

// Writes `text` as gzip, split into `members` concatenated members.
void write_gzip(const std::string& path, const std::string& text, int members) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).close();
  const size_t part = text.size() / static_cast<size_t>(members) + 1;
  for (size_t at = 0; at < text.size(); at += part) {
    gzFile f = gzopen(path.c_str(), "ab");
    REQUIRE(f != nullptr);
    const std::string piece = text.substr(at, part);
    REQUIRE(gzwrite(f, piece.data(), static_cast<unsigned>(piece.size())) ==
            static_cast<int>(piece.size()));
    gzclose(f);
  }
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::vector<int32_t>> ingest_documents(const std::string& input,
                                                   const std::string& output) {
  IngestOptions options;
  options.inputs = {input};
  options.output = output;
  options.tokenizer_type = "byte";
  options.append_eod = true;
  options.workers = 2;
  ingest(options);
  const auto store = TokenStore::open(output);
  std::vector<std::vector<int32_t>> docs;
  for (int64_t d = 0; d < store->num_documents(); ++d) docs.push_back(store->document(d));
  return docs;
}

std::string ingest_error(const std::string& input, const std::string& output) {
  try {
    ingest_documents(input, output);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST_CASE("formats look through compression extensions") {
  CHECK(compression_of("a.jsonl.gz") == Compression::kGzip);
  CHECK(compression_of("a.txt.zst") == Compression::kZstd);
  CHECK(compression_of("a.jsonl") == Compression::kNone);
  CHECK(input_format_of("a.jsonl.gz") == InputFormat::kJsonLines);
  CHECK(input_format_of("a.json.zst") == InputFormat::kJsonLines);
  CHECK(input_format_of("a.txt.gz") == InputFormat::kText);
}

TEST_CASE("gzip input ingests exactly as the plain file") {
  testing::TempDir dir;
  const std::string text = big_jsonl();
  testing::write_text(dir / "in.jsonl", text);
  write_gzip(dir / "in.jsonl.gz", text, 3);
  const auto plain = ingest_documents(dir / "in.jsonl", dir / "plain.h5");
  CHECK(plain.size() == 6000);
  CHECK(ingest_documents(dir / "in.jsonl.gz", dir / "gz.h5") == plain);

  std::string corrupt = read_bytes(dir / "in.jsonl.gz");
  for (size_t i = 100; i < 200; ++i) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
  testing::write_text(dir / "bad.jsonl.gz", corrupt);
  const std::string bad = ingest_error(dir / "bad.jsonl.gz", dir / "bad.h5");
  CHECK(bad.find("bad.jsonl.gz") != std::string::npos);
  CHECK(bad.find("gzip") != std::string::npos);
  const std::string whole = read_bytes(dir / "in.jsonl.gz");
  testing::write_text(dir / "cut.jsonl.gz", whole.substr(0, whole.size() / 2));
  CHECK(ingest_error(dir / "cut.jsonl.gz", dir / "cut.h5").find("truncated gzip") !=
        std::string::npos);
}

TEST_CASE("a dry run tokenizes the same documents and writes nothing") {
  testing::TempDir dir;
  testing::write_text(dir / "in.jsonl", big_jsonl());
  write_gzip(dir / "in.jsonl.gz", big_jsonl(), 1);
  IngestOptions options;
  options.inputs = {dir / "in.jsonl.gz"};
  options.output = dir / "dry.h5";
  options.tokenizer_type = "byte";
  options.dry_run = true;
  const IngestSummary dry = ingest(options);
  CHECK_FALSE(std::filesystem::exists(dir / "dry.h5"));
  const auto docs = ingest_documents(dir / "in.jsonl", dir / "real.h5");
  CHECK(dry.documents == static_cast<int64_t>(docs.size()));
  CHECK(dry.tokens + dry.documents == TokenStore::open(dir / "real.h5")->num_tokens());
}

TEST_CASE("zstd input ingests exactly as the plain file" * doctest::skip(!kHaveZstd)) {
#ifdef ME_WITH_ZSTD
  testing::TempDir dir;
  const std::string text = big_jsonl();
  testing::write_text(dir / "in.jsonl", text);
  // Two frames back to back, as `cat a.zst b.zst` makes.
  std::string packed;
  for (const std::string& piece : {text.substr(0, 500000), text.substr(500000)}) {
    std::string frame(ZSTD_compressBound(piece.size()), '\0');
    const size_t n = ZSTD_compress(frame.data(), frame.size(), piece.data(), piece.size(), 3);
    REQUIRE_FALSE(ZSTD_isError(n));
    packed += frame.substr(0, n);
  }
  testing::write_text(dir / "in.jsonl.zst", packed);
  const auto plain = ingest_documents(dir / "in.jsonl", dir / "plain.h5");
  CHECK(ingest_documents(dir / "in.jsonl.zst", dir / "zst.h5") == plain);
  // Plain text documents (whole file) through zstd too.
  testing::write_text(dir / "doc.txt", "line one\nline two\n");
  std::string frame(256, '\0');
  frame.resize(ZSTD_compress(frame.data(), frame.size(), "line one\nline two\n", 18, 1));
  testing::write_text(dir / "doc.txt.zst", frame);
  CHECK(ingest_documents(dir / "doc.txt.zst", dir / "t.h5") ==
        ingest_documents(dir / "doc.txt", dir / "t2.h5"));
  testing::write_text(dir / "cut.jsonl.zst", packed.substr(0, packed.size() - 10));
  CHECK(ingest_error(dir / "cut.jsonl.zst", dir / "cut.h5").find("zstd") != std::string::npos);
#endif
}

}  // namespace
}  // namespace me
