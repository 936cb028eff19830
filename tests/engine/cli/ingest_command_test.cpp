// `megatron-engine ingest` and scripts/preprocess_data: flags, help, errors, and end-to-end runs
// of the built binary.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "datasets/token_store.h"
#include "datasets/tokenizer.h"
#include "engine/cli/commands.h"
#include "engine/core/error.h"
#include "tests/support/process.h"

using namespace me::testing;

namespace {

const std::string kData = std::string(ME_TEST_DATA_DIR) + "/tokenizer/";

std::string command_error(const std::vector<std::string>& args) {
  try {
    me::ingest_command(args);
  } catch (const me::Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("ingest flags: help, unknown flag, missing flag, several JSON keys") {
  CHECK(me::ingest_command({"--help"}) == 0);
  const std::string unknown = command_error({"--input", "a.jsonl", "--apend-eod"});
  CHECK(contains(unknown, "unknown flag '--apend-eod'"));
  CHECK(contains(unknown, "did you mean '--append-eod'"));
  CHECK(contains(command_error({"--input", "a.jsonl", "--tokenizer-type", "byte"}),
                 "ingest needs --output"));
  CHECK(contains(command_error({"--input", "a.jsonl", "--output", "o.h5", "--tokenizer-type",
                                "byte", "--json-keys", "text", "title"}),
                 "one --json-keys value per output file"));
  CHECK(contains(command_error({"--input", "a.jsonl", "--output", "o.h5", "--tokenizer-type",
                                "byte", "--workers", "many"}),
                 "workers"));
}

TEST_CASE("the binary ingests JSON lines, prints a summary, and fails cleanly on a bad line") {
  TempDir dir;
  write_text(dir / "in.jsonl", "{\"text\": \"hello\"}\n{\"text\": \"world\", \"n\": 2}\n");
  const auto ok = run_engine(
      fmt::format("ingest --input {} --output {} --tokenizer-type GPT2BPETokenizer --vocab-file {} "
                  "--merge-file {} --append-eod --workers 2",
                  dir / "in.jsonl", dir / "out.h5", kData + "vocab.json", kData + "merges.txt"));
  REQUIRE_MESSAGE(ok.exit_code == 0, ok.output);
  CHECK(contains(ok.output, "documents  2"));
  CHECK(contains(ok.output, "MB/s"));
  const auto store = me::TokenStore::open(dir / "out.h5");
  me::TokenizerFiles files;
  files.vocab_file = kData + "vocab.json";
  files.merge_file = kData + "merges.txt";
  const auto tokenizer = me::TokenizerRegistry::instance().create("GPT2BPETokenizer", files);
  auto expected = tokenizer->encode("world");
  expected.push_back(tokenizer->eod_id());
  CHECK(store->document(1) == expected);

  write_text(dir / "bad.jsonl", "{\"text\": \"hello\"}\n{\"text\": [1, 2]}\n");
  const auto bad = run_engine(fmt::format("ingest --input {} --output {} --tokenizer-type byte",
                                          dir / "bad.jsonl", dir / "bad.h5"));
  CHECK(bad.exit_code != 0);
  CHECK_MESSAGE(contains(bad.output, dir / "bad.jsonl" + ":2: error: the value of 'text'"),
                bad.output);
  CHECK(!std::filesystem::exists(dir / "bad.h5"));
  const auto flag = run_engine("ingest --input x --bogus");
  CHECK(flag.exit_code != 0);
  CHECK(contains(flag.output, "unknown flag '--bogus'"));
}

TEST_CASE("the quickstart corpus: fortunes split at '%' lines") {
  const std::string fortunes = "/usr/share/games/fortunes/fortunes";
  if (!std::filesystem::exists(fortunes)) return;  // fortunes-min is installed by scripts/setup
  std::ifstream in(fortunes);
  int64_t entries = 0, separators = 0;
  bool open = false;
  for (std::string line; std::getline(in, line);) {
    if (line == "%") {
      open = false;
      ++separators;
    } else if (!open) {
      open = true;
      ++entries;
    }
  }
  REQUIRE(entries > 100);
  TempDir dir;
  const auto result = run_engine(
      fmt::format("ingest --input {} --output {} --tokenizer-type byte --text-document-separator % "
                  "--append-eod --workers 2",
                  fortunes, dir / "fortunes.h5"));
  REQUIRE_MESSAGE(result.exit_code == 0, result.output);
  const auto store = me::TokenStore::open(dir / "fortunes.h5");
  CHECK(store->num_documents() == entries);
  // Every byte but the "%\n" separator lines, plus one eod per entry.
  CHECK(store->num_tokens() ==
        int64_t(std::filesystem::file_size(fortunes)) - 2 * separators + entries);
}

TEST_CASE("scripts/preprocess_data maps Megatron's flags onto ingest") {
  TempDir dir;
  write_text(dir / "corpus.jsonl", "{\"text\": \"one\"}\n{\"text\": \"two three\"}\n");
  const std::string script =
      fmt::format("MEGATRON_ENGINE={} {}/scripts/preprocess_data", ME_BINARY_PATH, ME_SOURCE_DIR);
  const auto ok = run_command(
      fmt::format("{} --input {} --output-prefix {} --tokenizer-type HuggingFaceTokenizer "
                  "--tokenizer-model {} --json-keys text --append-eod --workers 2 2>&1",
                  script, dir / "corpus.jsonl", dir / "corpus", kData + "tokenizer.json"));
  REQUIRE_MESSAGE(ok.exit_code == 0, ok.output);
  CHECK(me::TokenStore::open(dir / "corpus.h5")->num_documents() == 2);
  const auto refused = run_command(
      fmt::format("{} --input {} --output-prefix {} --tokenizer-type byte --split-sentences 2>&1",
                  script, dir / "corpus.jsonl", dir / "other"));
  CHECK(refused.exit_code != 0);
  CHECK(contains(refused.output, "--split-sentences is not supported"));
}
