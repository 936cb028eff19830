// The command line as a careless user meets it: help, version, list, unknown flags, bad recipes.
#include <doctest/doctest.h>

#include "tests/support/process.h"

using namespace me::testing;

TEST_CASE("--help, --version and --list answer and exit 0") {
  const auto help = run_engine("--help");
  CHECK(help.exit_code == 0);
  CHECK(help.output.find("ingest") != std::string::npos);
  const auto version = run_engine("--version");
  CHECK(version.exit_code == 0);
  for (const char* part : {"megatron-engine", "compiler", "CUDA", "MPI", "HDF5"}) {
    CHECK_MESSAGE(version.output.find(part) != std::string::npos, part);
  }
  const auto list = run_engine("--list");
  CHECK(list.exit_code == 0);
  for (const char* name : {"model:", "  gpt", "layer:", "  layer_norm", "  self_attention",
                           "optimizer:", "  adam", "  sgd", "lr_schedule:", "  cosine",
                           "dataset:", "tokenizer:", "  byte", "  GPT2BPETokenizer"}) {
    CHECK_MESSAGE(list.output.find(name) != std::string::npos, name);
  }
  CHECK(run_engine("train --help").exit_code == 0);
  CHECK(run_engine("generate --help").exit_code == 0);
  CHECK(run_engine("ingest --help").exit_code == 0);
}

TEST_CASE("an unknown flag or subcommand is an error with a suggestion") {
  const auto flag = run_engine("--recipe x.yaml --print-recip");
  CHECK(flag.exit_code != 0);
  CHECK(flag.output.find("unknown flag '--print-recip'") != std::string::npos);
  CHECK(flag.output.find("did you mean '--print-recipe'") != std::string::npos);
  const auto sub = run_engine("genrate --load x");
  CHECK(sub.exit_code != 0);
  CHECK(sub.output.find("did you mean 'generate'") != std::string::npos);
}

TEST_CASE(
    "--print-recipe shows defaults and derived values, and a bad recipe names file and line") {
  TempDir dir;
  write_text(dir / "r.yaml", "model:\n  num_layers: 2\n  hiden_size: 32\n");
  const auto bad = run_engine("--recipe " + (dir / "r.yaml"));
  CHECK(bad.exit_code != 0);
  CHECK(bad.output.find(dir / "r.yaml" + ":3:3: error: unknown key 'hiden_size' in 'model'; "
                                         "did you mean 'hidden_size'?") != std::string::npos);
  const auto printed = run_engine(std::string("--recipe ") + ME_SOURCE_DIR +
                                  "/recipes/gpt/gpt_tiny.yaml --print-recipe");
  CHECK_MESSAGE(printed.exit_code == 0, printed.output);
  CHECK(printed.output.find("sgd_momentum: 0.9") != std::string::npos);  // a default
  CHECK(printed.output.find("derived:") != std::string::npos);
}
