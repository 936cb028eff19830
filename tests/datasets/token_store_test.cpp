// The HDF5 token store: round trips in both token dtypes, atomic writes, contiguous /tokens, and
// one me::Error per kind of bad file, naming the file and the problem.
#include "datasets/token_store.h"

#include <doctest/doctest.h>
#include <hdf5.h>

#include <filesystem>
#include <fstream>

#include "datasets/hdf5_file.h"
#include "engine/core/error.h"
#include "tests/support/process.h"

namespace me {
namespace {

TokenStoreMeta meta_for(int64_t vocab_size, int32_t eod_id) {
  TokenStoreMeta meta;
  meta.tokenizer_type = "byte";
  meta.tokenizer_sha256 = "abc123";
  meta.vocab_size = vocab_size;
  meta.eod_id = eod_id;
  meta.sources = {{"corpus/a.jsonl", 1234, "ffee"}, {"corpus/b.jsonl", 5, "0011"}};
  return meta;
}

void write_store(const std::string& path, const TokenStoreMeta& meta,
                 const std::vector<std::vector<int32_t>>& docs) {
  TokenStoreWriter writer(path, meta);
  for (const auto& doc : docs) writer.add_document(doc);
  writer.finish();
}

// The message of the me::Error that `f` throws ("" when it throws none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void check_round_trip(int64_t vocab_size, const std::vector<std::vector<int32_t>>& docs) {
  testing::TempDir dir;
  const std::string path = dir / "data.h5";
  const TokenStoreMeta meta = meta_for(vocab_size, static_cast<int32_t>(vocab_size - 1));
  write_store(path, meta, docs);

  auto store = TokenStore::open(path);
  CHECK(store->path() == path);
  CHECK(store->num_documents() == static_cast<int64_t>(docs.size()));
  int64_t total = 0;
  std::vector<int64_t> expected_offsets{0};
  for (const auto& d : docs) {
    total += static_cast<int64_t>(d.size());
    expected_offsets.push_back(total);
  }
  CHECK(store->num_tokens() == total);
  CHECK(store->document_offsets() == expected_offsets);
  for (size_t i = 0; i < docs.size(); ++i) {
    CHECK(store->document_length(static_cast<int64_t>(i)) == static_cast<int64_t>(docs[i].size()));
    CHECK(store->document(static_cast<int64_t>(i)) == docs[i]);
  }
  CHECK(store->meta().tokenizer_type == "byte");
  CHECK(store->meta().tokenizer_sha256 == "abc123");
  CHECK(store->meta().vocab_size == vocab_size);
  CHECK(store->meta().eod_id == vocab_size - 1);
  REQUIRE(store->meta().sources.size() == 2);
  CHECK(store->meta().sources[0].path == "corpus/a.jsonl");
  CHECK(store->meta().sources[0].bytes == 1234);
  CHECK(store->meta().sources[1].sha256 == "0011");

  // A range crossing documents reads the concatenated stream.
  std::vector<int32_t> stream;
  for (const auto& d : docs) stream.insert(stream.end(), d.begin(), d.end());
  if (stream.size() >= 3) {
    std::vector<int32_t> middle(stream.size() - 2);
    store->read_tokens(1, static_cast<int64_t>(stream.size()) - 1, middle.data());
    CHECK(middle == std::vector<int32_t>(stream.begin() + 1, stream.end() - 1));
  }
}

TEST_CASE("token store round trip with uint16 tokens and empty documents") {
  check_round_trip(65535, {{0, 1, 65534}, {}, {7}, {}, {300, 65533, 2, 2}});
}

TEST_CASE("token store round trip with int32 tokens") {
  check_round_trip(100000, {{99999, 0, 65535, 65536}, {}, {12345, 70000}});
}

TEST_CASE("token store with no documents") { check_round_trip(50, {}); }

TEST_CASE("token store picks uint16 up to vocab 65535 and int32 above, contiguous") {
  testing::TempDir dir;
  for (int64_t vocab : {int64_t{65535}, int64_t{65536}}) {
    const std::string path = dir / fmt::format("v{}.h5", vocab);
    write_store(path, meta_for(vocab, 0), {{1, 2, 3}, {4}});
    H5File file = H5File::open_read(path);
    H5Dataset tokens = file.open_dataset("tokens");
    CHECK(tokens.is_contiguous());
    CHECK(tokens.element_size() == (vocab == 65535 ? 2u : 4u));
    CHECK(tokens.is_signed() == (vocab != 65535));
    CHECK(file.string_attr("format") == std::string("megatron-engine-tokens"));
    CHECK(file.int_attr("format_version") == int64_t{1});
    CHECK(file.string_attr("tool_version").has_value());
  }
}

TEST_CASE("the writer streams /tokens in place for large stores and copies small ones") {
  testing::TempDir dir;
  // 100,000 uint16 and int32 tokens in documents of 1..999 tokens; 2,048 uint16 tokens (4 KiB,
  // HDF5's alignment threshold); 20 and 1,500 tokens (below it, so copied into place).
  for (const auto& [vocab, total] : {std::pair<int64_t, int64_t>{1000, 100000},
                                     {int64_t{1} << 20, 100000},
                                     {1000, 2048},
                                     {1000, 20},
                                     {1000, 1500}}) {
    CAPTURE(vocab);
    CAPTURE(total);
    std::vector<std::vector<int32_t>> docs;
    for (int64_t t = 0; t < total;) {
      docs.emplace_back();
      for (int64_t n = 1 + (t * 7919) % 999; n > 0 && t < total; --n, ++t) {
        docs.back().push_back(static_cast<int32_t>((t * 104729) % vocab));
      }
    }
    const std::string path = dir / fmt::format("s{}_{}.h5", vocab, total);
    write_store(path, meta_for(vocab, 0), docs);
    {
      H5File file = H5File::open_read(path);
      const int64_t offset = file.open_dataset("tokens").file_offset();
      CHECK((total < 2048 ? offset < 65536 : offset == 65536));
    }
    auto store = TokenStore::open(path);
    REQUIRE(store->num_documents() == static_cast<int64_t>(docs.size()));
    for (size_t d = 0; d < docs.size(); ++d) CHECK(store->document(int64_t(d)) == docs[d]);
  }
}

TEST_CASE("token store writer destroyed without finish leaves nothing behind") {
  testing::TempDir dir;
  const std::string path = dir / "data.h5";
  {
    TokenStoreWriter writer(path, meta_for(100, 0));
    writer.add_document(std::vector<int32_t>{1, 2, 3});
  }
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK(std::filesystem::is_empty(dir.path()));

  testing::write_text(path, "previous contents");
  {
    TokenStoreWriter writer(path, meta_for(100, 0));
    writer.add_document(std::vector<int32_t>{1, 2, 3});
  }
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text == "previous contents");
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                      std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("token store writer rejects token ids outside the vocabulary") {
  testing::TempDir dir;
  const std::string path = dir / "data.h5";
  TokenStoreWriter writer(path, meta_for(100, 0));
  const std::string message = error_of([&] { writer.add_document(std::vector<int32_t>{5, 100}); });
  CHECK(message.find(path) != std::string::npos);
  CHECK(message.find("token id 100") != std::string::npos);
  CHECK(error_of([&] { TokenStoreWriter w(path, meta_for(100, 100)); }).find("eod_id 100") !=
        std::string::npos);
}

TEST_CASE("token store open rejects a truncated file") {
  testing::TempDir dir;
  const std::string path = dir / "data.h5";
  std::vector<int32_t> doc(5000);
  for (size_t i = 0; i < doc.size(); ++i) doc[i] = static_cast<int32_t>(i % 300);
  write_store(path, meta_for(300, 0), {doc, doc});
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  const std::string message = error_of([&] { TokenStore::open(path); });
  CHECK(message.find(path) != std::string::npos);
  CHECK(message.find("truncated") != std::string::npos);
}

TEST_CASE("token store open rejects a text file and a missing file") {
  testing::TempDir dir;
  const std::string path = dir / "notes.h5";
  testing::write_text(path, "this is not HDF5\n");
  std::string message = error_of([&] { TokenStore::open(path); });
  CHECK(message.find(path) != std::string::npos);
  CHECK(message.find("not an HDF5 file") != std::string::npos);
  message = error_of([&] { TokenStore::open(dir / "absent.h5"); });
  CHECK(message.find("absent.h5") != std::string::npos);
  CHECK(message.find("no such file") != std::string::npos);
}

TEST_CASE("token store open rejects a foreign HDF5 file") {
  testing::TempDir dir;
  const std::string path = dir / "foreign.h5";
  {
    H5File file = H5File::create(path);
    std::vector<int32_t> values{1, 2, 3};
    file.create_dataset("tokens", H5T_STD_I32LE, {3})
        .write_rows(H5T_NATIVE_INT32, 0, 3, values.data());
  }
  std::string message = error_of([&] { TokenStore::open(path); });
  CHECK(message.find(path) != std::string::npos);
  CHECK(message.find("without the 'format' attribute") != std::string::npos);

  const std::string other = dir / "other.h5";
  {
    H5File file = H5File::create(other);
    file.set_attr("format", std::string("someone-else"));
  }
  message = error_of([&] { TokenStore::open(other); });
  CHECK(message.find("format is 'someone-else'") != std::string::npos);
}

// A file with our attributes around hand-written datasets, to reach each validation rule.
void write_raw_store(const std::string& path, int64_t vocab_size, int64_t version, hid_t token_type,
                     const std::vector<int32_t>& tokens, const std::vector<int64_t>& offsets) {
  H5File file = H5File::create(path);
  const auto n = static_cast<int64_t>(tokens.size());
  file.create_dataset("tokens", token_type, {n}).write_rows(H5T_NATIVE_INT32, 0, n, tokens.data());
  const auto m = static_cast<int64_t>(offsets.size());
  file.create_dataset("document_offsets", H5T_STD_I64LE, {m})
      .write_rows(H5T_NATIVE_INT64, 0, m, offsets.data());
  file.set_attr("format", std::string("megatron-engine-tokens"));
  file.set_attr("format_version", version);
  file.set_attr("tokenizer_type", std::string("byte"));
  file.set_attr("tokenizer_sha256", std::string(""));
  file.set_attr("vocab_size", vocab_size);
  file.set_attr("eod_id", int64_t{0});
}

TEST_CASE("token store open rejects bad offsets, versions and dtypes") {
  testing::TempDir dir;
  const std::string path = dir / "bad.h5";
  auto message_for = [&](int64_t vocab, int64_t version, hid_t type,
                         const std::vector<int64_t>& offsets) {
    std::filesystem::remove(path);
    write_raw_store(path, vocab, version, type, {1, 2, 3, 4}, offsets);
    const std::string message = error_of([&] { TokenStore::open(path); });
    CHECK(message.find(path) != std::string::npos);
    return message;
  };
  CHECK(message_for(100, 1, H5T_STD_I32LE, {0, 3, 2, 4}).find("not monotonic") !=
        std::string::npos);
  CHECK(message_for(100, 1, H5T_STD_I32LE, {1, 4}).find("starts at 1") != std::string::npos);
  CHECK(message_for(100, 1, H5T_STD_I32LE, {0, 3}).find("ends at 3") != std::string::npos);
  CHECK(message_for(100, 2, H5T_STD_I32LE, {0, 4}).find("unsupported format_version 2") !=
        std::string::npos);
  CHECK(message_for(70000, 1, H5T_STD_U16LE, {0, 4}).find("vocab_size 70000") != std::string::npos);
  CHECK(message_for(100, 1, H5T_STD_I64LE, {0, 4}).find("expected uint16 or int32") !=
        std::string::npos);
  // The same file with valid offsets opens: the rules above are what rejected it.
  std::filesystem::remove(path);
  write_raw_store(path, 100, 1, H5T_STD_I32LE, {1, 2, 3, 4}, {0, 1, 4});
  CHECK(TokenStore::open(path)->num_documents() == 2);
}

TEST_CASE("token store open rejects a missing dataset") {
  testing::TempDir dir;
  const std::string path = dir / "partial.h5";
  {
    H5File file = H5File::create(path);
    file.set_attr("format", std::string("megatron-engine-tokens"));
    file.set_attr("format_version", int64_t{1});
    file.set_attr("tokenizer_type", std::string("byte"));
    file.set_attr("tokenizer_sha256", std::string(""));
    file.set_attr("vocab_size", int64_t{10});
    file.set_attr("eod_id", int64_t{9});
  }
  const std::string message = error_of([&] { TokenStore::open(path); });
  CHECK(message.find(path) != std::string::npos);
  CHECK(message.find("missing dataset /tokens") != std::string::npos);
}

}  // namespace
}  // namespace me
