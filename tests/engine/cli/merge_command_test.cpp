// `megatron-engine merge`: the built binary merges two ingested files and fails cleanly on misuse.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <filesystem>

#include "datasets/token_store.h"
#include "tests/support/process.h"

using namespace me::testing;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("the binary merges ingested files in order") {
  TempDir dir;
  write_text(dir / "a.txt", "abc");
  write_text(dir / "b.txt", "de");
  for (const char* name : {"a", "b"}) {
    const auto r = run_engine(fmt::format("ingest --input {} --output {} --tokenizer-type byte",
                                          dir / (std::string(name) + ".txt"),
                                          dir / (std::string(name) + ".h5")));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  }
  const auto merged =
      run_engine(fmt::format("merge {} {} -o {}", dir / "b.h5", dir / "a.h5", dir / "ab.h5"));
  REQUIRE_MESSAGE(merged.exit_code == 0, merged.output);
  CHECK(contains(merged.output, "2 documents, 5 tokens"));
  const auto store = me::TokenStore::open(dir / "ab.h5");
  CHECK(store->document(0) == std::vector<int32_t>{'d', 'e'});
  CHECK(store->document(1) == std::vector<int32_t>{'a', 'b', 'c'});
  CHECK(store->meta().sources.size() == 2);

  const auto no_output = run_engine(fmt::format("merge {}", dir / "a.h5"));
  CHECK(no_output.exit_code != 0);
  CHECK(contains(no_output.output, "merge needs -o"));
  const auto bad_flag = run_engine(fmt::format("merge {} --out x.h5", dir / "a.h5"));
  CHECK(bad_flag.exit_code != 0);
  CHECK(contains(bad_flag.output, "unknown flag '--out'"));
  CHECK(run_engine("merge --help").exit_code == 0);
}
