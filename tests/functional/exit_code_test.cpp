// The documented exit codes (README "Exit codes") a scheduler's wrapper acts on: config, data and
// checkpoint errors each have their own, and the messages stay as they were.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "tests/support/process.h"

using namespace me::testing;

namespace {

// `data` is the body of the data: section.
std::string recipe_with(const TempDir& dir, const std::string& data,
                        const std::string& extra = "") {
  const std::string path = dir / "r.yaml";
  write_text(path, fmt::format(R"(model:
  num_layers: 1
  hidden_size: 16
  num_attention_heads: 2
  seq_length: 16
  max_position_embeddings: 16
data:
  {}
optimizer:
  lr: 0.001
train:
  micro_batch_size: 1
  train_iters: 2
  eval_iters: 0
{})",
                               data, extra));
  return path;
}

}  // namespace

TEST_CASE("a recipe error exits with code 2") {
  TempDir dir;
  const auto run = run_engine(
      fmt::format("--recipe {}", recipe_with(dir, "mock_data: true", "  no_such_field: 3\n")));
  CHECK_MESSAGE(run.exit_code == 2, run.output);
  CHECK(run.output.find("no_such_field") != std::string::npos);
}

TEST_CASE("an unknown flag and an unreadable recipe file exit with code 2") {
  TempDir dir;
  CHECK(run_engine("train --no-such-flag").exit_code == 2);
  CHECK(run_engine(fmt::format("--recipe {}", dir / "missing.yaml")).exit_code == 2);
  CHECK(run_engine("no-such-subcommand").exit_code == 2);
}

TEST_CASE("a missing dataset exits with code 3") {
  TempDir dir;
  const auto run = run_engine(
      fmt::format("--recipe {}", recipe_with(dir, "data_path: [" + dir / "absent.h5" + "]")));
  CHECK_MESSAGE(run.exit_code == 3, run.output);
  CHECK(run.output.find("absent.h5") != std::string::npos);
}

TEST_CASE("a missing checkpoint with exit_on_missing_checkpoint exits with code 5") {
  TempDir dir;
  const auto run =
      run_engine(fmt::format("--recipe {} --set tokenizer.vocab_size=64 --set checkpoint.load={} "
                             "--set checkpoint.exit_on_missing_checkpoint=true",
                             recipe_with(dir, "mock_data: true"), dir / "none"));
  CHECK_MESSAGE(run.exit_code == 5, run.output);
  CHECK(run.output.find("no checkpoint found") != std::string::npos);
}
