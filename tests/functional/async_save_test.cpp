// checkpoint.async_save end to end: the checkpoints a run writes in the background are byte for
// byte those of a synchronous run, and SIGKILL during background saves leaves a loadable one.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

#include "tests/functional/corpus.h"
#include "tests/support/process.h"

using namespace me::testing;

namespace {

std::string async_recipe(const TempDir& dir, int train_iters) {
  write_text(dir / "corpus.jsonl", grammar_corpus_jsonl(400));
  const auto ingest =
      run_engine(fmt::format("ingest --input {} --output {} --tokenizer-type byte --append-eod",
                             dir / "corpus.jsonl", dir / "corpus.h5"));
  REQUIRE_MESSAGE(ingest.exit_code == 0, ingest.output);
  const std::string path = dir / "async.yaml";
  write_text(path, fmt::format(R"(model:
  num_layers: 2
  hidden_size: 32
  num_attention_heads: 2
  seq_length: 32
  max_position_embeddings: 32
  hidden_dropout: 0.1
data:
  data_path: [{}]
  split: "100,0,0"
train:
  micro_batch_size: 4
  train_iters: {}
  eval_iters: 0
optimizer:
  lr: 0.002
logging:
  log_interval: 1000
)",
                               dir / "corpus.h5", train_iters));
  return path;
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("async checkpoints equal synchronous ones byte for byte") {
  TempDir dir;
  const std::string recipe = async_recipe(dir, 9);
  for (const char* mode : {"true", "false"}) {
    const auto run = run_engine(
        fmt::format("--recipe {} --set checkpoint.save={} --set checkpoint.save_interval=3 "
                    "--set checkpoint.async_save={}",
                    recipe, dir / (std::string("ckpt_") + mode), mode));
    REQUIRE_MESSAGE(run.exit_code == 0, run.output);
  }
  // The manifests differ only in the recipe they store (async_save, save path).
  for (const char* iteration : {"iter_0000003", "iter_0000006", "iter_0000009"}) {
    INFO(iteration);
    const std::string shard = fmt::format("{}/shard_tp00_pp000.h5", iteration);
    CHECK(file_bytes(dir / ("ckpt_true/" + shard)) == file_bytes(dir / ("ckpt_false/" + shard)));
  }
  CHECK(file_bytes(dir / "ckpt_true/latest") == "iter_0000009\n");
}

TEST_CASE("with two data-parallel ranks async checkpoints equal synchronous ones") {
  TempDir dir;
  const std::string recipe = async_recipe(dir, 9);
  for (const char* mode : {"true", "false"}) {
    const auto run = run_command(fmt::format(
        "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
        "OMPI_MCA_rmaps_base_oversubscribe=1 timeout 300 mpirun -np 2 {} --recipe {} "
        "--set checkpoint.save={} --set checkpoint.save_interval=3 --set checkpoint.async_save={}",
        ME_BINARY_PATH, recipe, dir / (std::string("ckpt_") + mode), mode));
    REQUIRE_MESSAGE(run.exit_code == 0, run.output);
  }
  // Publishing needs both ranks, so each async checkpoint appears at the next save or the end.
  for (const char* iteration : {"iter_0000003", "iter_0000006", "iter_0000009"}) {
    INFO(iteration);
    const std::string shard = fmt::format("{}/shard_tp00_pp000.h5", iteration);
    CHECK(file_bytes(dir / ("ckpt_true/" + shard)) == file_bytes(dir / ("ckpt_false/" + shard)));
  }
  CHECK(file_bytes(dir / "ckpt_true/latest") == "iter_0000009\n");
}

TEST_CASE("SIGKILL during async checkpoint saves leaves the previous checkpoint loadable") {
  TempDir dir;
  const std::string recipe = async_recipe(dir, 3000);
  const std::string ckpt = dir / "ckpt";
  for (int trial = 0; trial < 4; ++trial) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const std::string set_save = "checkpoint.save=" + ckpt;
      const std::string set_load = "checkpoint.load=" + ckpt;
      execl(ME_BINARY_PATH, ME_BINARY_PATH, "--recipe", recipe.c_str(), "--set", set_save.c_str(),
            "--set", set_load.c_str(), "--set", "checkpoint.save_interval=1", "--set",
            "checkpoint.async_save=true", (char*)nullptr);
      _exit(127);
    }
    // A background save is in flight nearly all the time; kill at staggered moments.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500 + 370 * trial));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    const auto loaded = run_engine(
        fmt::format("generate --load {} --prompt 'the cat' --tokens-to-generate 4 --greedy", ckpt));
    INFO("trial " << trial);
    CHECK_MESSAGE(loaded.exit_code == 0, loaded.output);
  }
  std::ifstream latest(ckpt + "/latest");
  std::string name;
  REQUIRE(static_cast<bool>(latest >> name));
  CHECK(std::stoi(name.substr(5)) > 1);  // the trials resumed and saved further each time
}
