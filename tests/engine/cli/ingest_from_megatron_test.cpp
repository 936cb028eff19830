// `megatron-engine ingest --from-megatron`: the built binary converts the Megatron fixture and
// refuses mixing it with --input.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "datasets/token_store.h"
#include "tests/support/process.h"

using namespace me::testing;

TEST_CASE("the binary converts a Megatron bin and idx pair") {
  TempDir dir;
  const std::string prefix = std::string(ME_TEST_DATA_DIR) + "/megatron/tiny_text_document";
  const auto ok = run_engine(fmt::format(
      "ingest --from-megatron {} --output {} --tokenizer-type byte", prefix, dir / "out.h5"));
  REQUIRE_MESSAGE(ok.exit_code == 0, ok.output);
  CHECK(ok.output.find("(5 sequences)") != std::string::npos);
  CHECK(ok.output.find("4 documents, 23 tokens") != std::string::npos);
  CHECK(me::TokenStore::open(dir / "out.h5")->document(0) ==
        std::vector<int32_t>{72, 101, 108, 108, 111, 256});
  const auto both = run_engine(
      fmt::format("ingest --from-megatron {} --input a.jsonl --output {} --tokenizer-type byte",
                  prefix, dir / "x.h5"));
  CHECK(both.exit_code != 0);
  CHECK(both.output.find("not both") != std::string::npos);
}
