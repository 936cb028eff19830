// End to end through the megatron-engine binary with the shipped recipes/llama/llama_tiny.yaml
// (RoPE, RMSNorm, SwiGLU, GQA, untied, packed documents masked apart): the loss falls.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/functional/corpus.h"
#include "tests/functional/metrics.h"
#include "tests/support/process.h"

using namespace me::testing;

TEST_CASE("the shipped tiny Llama recipe trains with a falling loss") {
  TempDir dir;
  write_text(dir / "corpus.jsonl", grammar_corpus_jsonl(600));
  const auto ingest =
      run_engine(fmt::format("ingest --input {} --output {} --tokenizer-type byte --append-eod",
                             dir / "corpus.jsonl", dir / "corpus.h5"));
  REQUIRE_MESSAGE(ingest.exit_code == 0, ingest.output);
  const auto result = run_engine(fmt::format(
      "--recipe {}/recipes/llama/llama_tiny.yaml --set 'data.data_path=[{}]' "
      "--set 'data.split=\"90,10,0\"' --set train.train_iters=40 --set model.seq_length=64 "
      "--set train.eval_interval=20 "
      "--set checkpoint.save=null --set logging.log_interval=1 --set logging.metrics_file={}",
      ME_SOURCE_DIR, dir / "corpus.h5", dir / "metrics.jsonl"));
  REQUIRE_MESSAGE(result.exit_code == 0, result.output);
  const auto losses = train_losses(dir / "metrics.jsonl");
  REQUIRE(losses.size() == 40);
  // Bytes over a padded vocabulary of 384: an untrained model sits near ln(384) = 5.95; the
  // grammar corpus is learned to about 1.4 nats/byte in 40 iterations.
  CHECK(losses.begin()->second > 5.0);
  CHECK(losses.rbegin()->second < 2.0);
}
