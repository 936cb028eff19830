// `ingest --from-megatron`: the fixture of scripts/fixtures/make_megatron_idx_fixture.py (written
// from megatron-facts 3.1 with numpy) converts to the documents it lists, and every corruption of
// the .idx is refused with the rule it breaks.
#include "datasets/megatron_import.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "datasets/token_store.h"
#include "engine/core/error.h"
#include "tests/support/process.h"

namespace me {
namespace {

const std::string kData = std::string(ME_TEST_DATA_DIR) + "/megatron/";

nlohmann::json expected() {
  std::ifstream in(kData + "expected.json");
  return nlohmann::json::parse(in);
}

std::vector<std::vector<int32_t>> all_documents(const TokenStore& store) {
  std::vector<std::vector<int32_t>> out;
  for (int64_t d = 0; d < store.num_documents(); ++d) out.push_back(store.document(d));
  return out;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// The error text of converting the fixture after `edit` changed its .idx (and .bin).
template <typename Edit>
std::string corrupted(Edit edit) {
  testing::TempDir dir;
  std::string idx = read_bytes(kData + "tiny_text_document.idx");
  std::string bin = read_bytes(kData + "tiny_text_document.bin");
  edit(idx, bin);
  write_bytes(dir / "x.idx", idx);
  write_bytes(dir / "x.bin", bin);
  try {
    import_megatron({dir / "x", dir / "out.h5", "byte", {}, false});
  } catch (const Error& e) {
    CHECK_FALSE(std::filesystem::exists(dir / "out.h5"));
    return e.what();
  }
  return "no error";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

template <typename T>
void put(std::string& bytes, size_t at, T value) {
  std::memcpy(bytes.data() + at, &value, sizeof(T));
}

TEST_CASE("megatron import round trip: documents and sequences in uint16 and int32") {
  const nlohmann::json want = expected();
  for (const char* name : {"tiny_text_document", "tiny_int32_text_document"}) {
    testing::TempDir dir;
    const MegatronImportSummary docs =
        import_megatron({kData + name, dir / "docs.h5", "byte", {}, false});
    CHECK(docs.sequences == 5);
    CHECK(docs.documents == 4);
    const auto store = TokenStore::open(dir / "docs.h5");
    CHECK(all_documents(*store) == want["documents"].get<std::vector<std::vector<int32_t>>>());
    CHECK(store->meta().tokenizer_type == "byte");
    CHECK(store->meta().eod_id == 256);
    CHECK(store->meta().sources.size() == 2);

    import_megatron({kData + name, dir / "seqs.h5", "byte", {}, true});
    const auto seqs = TokenStore::open(dir / "seqs.h5");
    CHECK(all_documents(*seqs) == want["sequences"].get<std::vector<std::vector<int32_t>>>());
  }
}

TEST_CASE("megatron index validation names the broken rule") {
  CHECK(contains(corrupted([](std::string& idx, std::string&) { idx[0] = 'X'; }), "bad magic"));
  CHECK(contains(corrupted([](std::string& idx, std::string&) { put<uint64_t>(idx, 9, 2); }),
                 "version 2"));
  CHECK(contains(corrupted([](std::string& idx, std::string&) { idx[17] = 6; }), "dtype code 6"));
  CHECK(contains(corrupted([](std::string& idx, std::string&) { put<uint64_t>(idx, 18, 99); }),
                 "do not fit"));
  CHECK(contains(corrupted([](std::string& idx, std::string&) { idx.resize(60); }), "do not fit"));
  CHECK(contains(corrupted([](std::string& idx, std::string&) { idx.resize(20); }), "header"));
  // The second sequence's pointer (after 5 int32 sizes and one int64 pointer).
  CHECK(
      contains(corrupted([](std::string& idx, std::string&) { put<int64_t>(idx, 34 + 20 + 8, 4); }),
               "running sum"));
  CHECK(
      contains(corrupted([](std::string&, std::string& bin) { bin.pop_back(); }), "bytes of .bin"));
  // The last document-index entry must be N = 5.
  CHECK(contains(
      corrupted([](std::string& idx, std::string&) { put<int64_t>(idx, 34 + 60 + 32, 4); }),
      "document index"));
  CHECK(contains(corrupted([](std::string& idx, std::string&) { put<int32_t>(idx, 34, -1); }),
                 "negative size"));
  // A token id beyond the byte tokenizer's vocabulary (257) is refused by the writer.
  CHECK(contains(corrupted([](std::string&, std::string& bin) { put<uint16_t>(bin, 0, 300); }),
                 "outside the vocabulary"));
}

TEST_CASE("megatron import needs both files") {
  testing::TempDir dir;
  try {
    import_megatron({dir / "missing", dir / "out.h5", "byte", {}, false});
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(contains(e.what(), "missing.idx"));
  }
}

}  // namespace
}  // namespace me
