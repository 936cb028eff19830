// merge_token_stores: documents and tokens survive the round trip in order (including a document
// longer than one copy block), sources are concatenated, and mismatched tokenizers are refused.
#include "datasets/merge.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "datasets/token_store.h"
#include "engine/core/error.h"
#include "tests/support/process.h"

namespace me {
namespace {

std::string write_store(const testing::TempDir& dir, const std::string& name,
                        const std::vector<std::vector<int32_t>>& docs, int64_t vocab,
                        const std::string& sha = "abc") {
  TokenStoreMeta meta;
  meta.tokenizer_type = "GPT2BPETokenizer";
  meta.tokenizer_sha256 = sha;
  meta.vocab_size = vocab;
  meta.eod_id = 0;
  meta.sources = {{name + ".jsonl", 10, "s-" + name}};
  TokenStoreWriter writer(dir / name, meta);
  for (const auto& doc : docs) writer.add_document(doc);
  writer.finish();
  return dir / name;
}

std::string error_text(const std::vector<std::string>& inputs, const std::string& output) {
  try {
    merge_token_stores(inputs, output);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("merge round trip keeps documents in the given order") {
  testing::TempDir dir;
  // A document of 2^20 + 5 tokens crosses a copy block; ids up to 70000 need int32 storage.
  std::vector<int32_t> huge((1 << 20) + 5);
  for (size_t i = 0; i < huge.size(); ++i) huge[i] = static_cast<int32_t>(i % 69997) + 1;
  const std::vector<std::vector<int32_t>> a_docs{{1, 2, 3}, {}, {69999, 4}};
  const std::vector<std::vector<int32_t>> b_docs{huge, {7}};
  const std::string a = write_store(dir, "a.h5", a_docs, 70000);
  const std::string b = write_store(dir, "b.h5", b_docs, 70000);
  const MergeSummary summary = merge_token_stores({b, a}, dir / "out.h5");
  CHECK(summary.documents == 5);
  CHECK(summary.tokens == static_cast<int64_t>(huge.size()) + 1 + 5);
  const auto out = TokenStore::open(dir / "out.h5");
  REQUIRE(out->num_documents() == 5);
  CHECK(out->document(0) == huge);
  CHECK(out->document(1) == std::vector<int32_t>{7});
  CHECK(out->document(2) == a_docs[0]);
  CHECK(out->document(3).empty());
  CHECK(out->document(4) == a_docs[2]);
  CHECK(out->meta().tokenizer_sha256 == "abc");
  CHECK(out->meta().vocab_size == 70000);
  REQUIRE(out->meta().sources.size() == 2);
  CHECK(out->meta().sources[0].sha256 == "s-b.h5");
  CHECK(out->meta().sources[1].sha256 == "s-a.h5");
}

TEST_CASE("merge refuses other tokenizers and no inputs and overwriting an input") {
  testing::TempDir dir;
  const std::string a = write_store(dir, "a.h5", {{1, 2}}, 100);
  const std::string c = write_store(dir, "c.h5", {{1, 2}}, 100, "def");
  const std::string mixed = error_text({a, c}, dir / "out.h5");
  CHECK(mixed.find(a) != std::string::npos);
  CHECK(mixed.find(c) != std::string::npos);
  CHECK(mixed.find("tokenized differently") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "out.h5"));
  CHECK(error_text({}, dir / "out.h5").find("at least one input") != std::string::npos);
  CHECK(error_text({a}, a).find("also an input") != std::string::npos);
}

}  // namespace
}  // namespace me
