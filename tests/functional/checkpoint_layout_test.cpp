// Checkpoints load into any layout under mpirun: tp 1 -> 2 (GPT, and Llama with GQA and SwiGLU),
// the distributed optimizer on at save and off at load and the reverse, `convert --to-layout`
// round trips (tp and pp) bitwise with converted checkpoints resuming like the source, a tp 2
// export to Hugging Face, generation from a tp 2 checkpoint, and bad inputs named (tp 2 -> 1:
// tests/functional/tensor_parallel_test). Losses after a layout change are compared to the
// uninterrupted run at 1e-6 relative: fp32 sums over other shard splits differ in the last bits
// (observed ~1e-8), far below what a wrong slice would move.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "datasets/hdf5_file.h"
#include "engine/checkpoint/shard_file.h"
#include "tests/functional/corpus.h"
#include "tests/functional/metrics.h"
#include "tests/support/mpi_launch.h"
#include "tests/support/process.h"

using namespace me::testing;
namespace fs = std::filesystem;

namespace {

// Global batch 8: 4 micro-batches of 2 at dp 1, 2 x 2 at dp 2.
constexpr const char* kRecipe = R"(model: {num_layers: 2, hidden_size: 32, num_attention_heads: 4,
  seq_length: 32, max_position_embeddings: 32, hidden_dropout: 0.0, attention_dropout: 0.0}
data: {mock_data: true}
tokenizer: {vocab_size: 200}
train: {micro_batch_size: 2, global_batch_size: 8, train_iters: 10, eval_iters: 0}
optimizer: {lr: 0.005}
parallel: {ddp_bucket_size: 6000}
logging: {log_interval: 1}
)";

struct Run {
  TempDir& dir;
  CommandResult operator()(int ranks, const std::string& metrics, const std::string& sets) const {
    const std::string args = fmt::format("--recipe {} --set logging.metrics_file={} {}",
                                         dir / "r.yaml", dir / metrics, sets);
    return run_engine_on_ranks(ranks, args);
  }
};

std::string layout(int tp, bool distributed) {
  return fmt::format(
      "--set parallel.tensor_model_parallel_size={} --set "
      "parallel.use_distributed_optimizer={}",
      tp, distributed);
}

std::string save_at_5(const std::string& ckpt) {
  return fmt::format(
      " --set train.exit_interval=5 --set checkpoint.save={} --set checkpoint.save_interval=5",
      ckpt);
}

// Iterations 6-10 of `got` against the uninterrupted run (relative `epsilon`; 0: bitwise).
void check_resumed(const std::map<int64_t, double>& want, const std::map<int64_t, double>& got,
                   double epsilon) {
  REQUIRE(got.size() == 5);
  for (const auto& [iteration, loss] : got) {
    INFO("iteration " << iteration);
    CHECK(iteration > 5);
    if (epsilon == 0) {
      CHECK(loss == want.at(iteration));
    } else {
      CHECK(loss == doctest::Approx(want.at(iteration)).epsilon(epsilon));
    }
  }
}

CommandResult convert(const std::string& from, const std::string& to, const std::string& flags) {
  return run_engine(fmt::format("convert --from {} --to-layout {} {}", from, to, flags));
}

// Every dataset of every shard file: name -> (placement, values).
std::map<std::string, std::pair<std::string, std::vector<float>>> tensors(const std::string& dir) {
  std::map<std::string, std::pair<std::string, std::vector<float>>> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".h5") continue;
    const me::H5File file = me::H5File::open_read(entry.path().string());
    for (const me::ShardEntry& e : me::list_shard_file(entry.path().string())) {
      std::vector<float> values(static_cast<size_t>(me::shape_numel(e.dims)));
      if (!values.empty()) {
        file.open_dataset(e.dataset).read_rows(H5T_NATIVE_FLOAT, 0, e.dims[0], values.data());
      }
      const me::Partition& p = e.placement.partition;
      const std::string where = fmt::format(
          "{} {} [{}, {}) dim {} rank {}/{}", entry.path().filename().string(),
          me::shape_str(e.dims), e.placement.begin, e.placement.end, p.dim, p.rank, p.size);
      out[entry.path().filename().string() + ":" + e.dataset] = {where, values};
    }
  }
  return out;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("a tp 1 checkpoint of gpt and llama resumes at tp 2 with the uninterrupted losses") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  const Run train{dir};
  for (const char* model : {"gpt", "llama"}) {
    CAPTURE(model);
    // Llama: GQA (4 heads in 2 query groups), SwiGLU's fused [gate | up] split in 2 chunks.
    const std::string sets = std::string(model) == "llama" ? kTinyLlamaSets : "";
    const std::string ckpt = dir / fmt::format("{}_ckpt", model);
    const auto full = train(1, fmt::format("{}_full.jsonl", model), sets);
    REQUIRE_MESSAGE(full.exit_code == 0, full.output);
    const auto first = train(1, fmt::format("{}_first.jsonl", model), sets + save_at_5(ckpt));
    REQUIRE_MESSAGE(first.exit_code == 0, first.output);
    const std::string metrics = fmt::format("{}_resumed.jsonl", model);
    const auto resumed = train(
        2, metrics, fmt::format("{} {} --set checkpoint.load={}", sets, layout(2, false), ckpt));
    REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.output);
    check_resumed(train_losses(dir / fmt::format("{}_full.jsonl", model)),
                  train_losses(dir / metrics), 1e-6);
  }
}

TEST_CASE(
    "a vocabulary padded for another tp is re-padded on load and another vocabulary refused") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  const Run train{dir};
  // 300 tokens pad to 384 rows at tp 1 and to 512 at tp 2.
  const std::string vocab300 = "--set tokenizer.vocab_size=300";
  const auto first = train(1, "first.jsonl", vocab300 + save_at_5(dir / "ckpt"));
  REQUIRE_MESSAGE(first.exit_code == 0, first.output);
  const auto at_tp2 = train(
      2, "tp2.jsonl",
      fmt::format("{} {} --set checkpoint.load={}", vocab300, layout(2, false), dir / "ckpt"));
  REQUIRE_MESSAGE(at_tp2.exit_code == 0, at_tp2.output);
  CHECK(train_losses(dir / "tp2.jsonl").size() == 5);
  // 200 tokens pad to 256 rows: no vocabulary pads to both 384 and 256.
  const auto other = train(1, "other.jsonl", "--set checkpoint.load=" + (dir / "ckpt"));
  CHECK(other.exit_code != 0);
  CHECK_MESSAGE(
      other.output.find("padded vocabulary size (checkpoint 384, recipe 256)") != std::string::npos,
      other.output);
}

TEST_CASE("the distributed optimizer on at save and off at load and the reverse across tp") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  const Run train{dir};
  // Saved at dp 2 with the distributed optimizer, loaded at tp 2 without it.
  const auto full = train(2, "full.jsonl", layout(1, true));
  REQUIRE_MESSAGE(full.exit_code == 0, full.output);
  const auto first = train(2, "first.jsonl", layout(1, true) + save_at_5(dir / "dist"));
  REQUIRE_MESSAGE(first.exit_code == 0, first.output);
  CHECK(fs::exists(dir / "dist/iter_0000005/optim_tp00_pp000_dp001.h5"));
  const auto at_tp2 =
      train(2, "tp2.jsonl", layout(2, false) + " --set checkpoint.load=" + (dir / "dist"));
  REQUIRE_MESSAGE(at_tp2.exit_code == 0, at_tp2.output);
  check_resumed(train_losses(dir / "full.jsonl"), train_losses(dir / "tp2.jsonl"), 1e-6);
  // Saved at tp 2 (whole state beside the weights), loaded at dp 2 with the distributed optimizer.
  const auto full2 = train(2, "full2.jsonl", layout(2, false));
  REQUIRE_MESSAGE(full2.exit_code == 0, full2.output);
  const auto first2 = train(2, "first2.jsonl", layout(2, false) + save_at_5(dir / "tp2"));
  REQUIRE_MESSAGE(first2.exit_code == 0, first2.output);
  const auto at_dp2 =
      train(2, "dp2.jsonl", layout(1, true) + " --set checkpoint.load=" + (dir / "tp2"));
  REQUIRE_MESSAGE(at_dp2.exit_code == 0, at_dp2.output);
  check_resumed(train_losses(dir / "full2.jsonl"), train_losses(dir / "dp2.jsonl"), 1e-6);
}

TEST_CASE(
    "convert to-layout round trips bitwise and converted checkpoints resume like the source") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  const Run train{dir};
  const auto full = train(1, "full.jsonl", "");
  REQUIRE_MESSAGE(full.exit_code == 0, full.output);
  const auto first = train(1, "first.jsonl", save_at_5(dir / "tp1"));
  REQUIRE_MESSAGE(first.exit_code == 0, first.output);
  const std::string source = dir / "tp1/iter_0000005";
  // tp 1 -> 2 -> 1 and pp 1 -> 2 -> 1: every tensor, weights and Adam state, bitwise.
  for (const char* flags : {"--tensor-model-parallel-size 2", "--pipeline-model-parallel-size 2"}) {
    CAPTURE(flags);
    const std::string there = dir / fmt::format("there{}", flags[2]);
    const std::string back = dir / fmt::format("back{}", flags[2]);
    const auto out = convert(dir / "tp1", there, flags);
    REQUIRE_MESSAGE(out.exit_code == 0, out.output);
    const auto in =
        convert(there, back, "--tensor-model-parallel-size 1 --pipeline-model-parallel-size 1");
    REQUIRE_MESSAGE(in.exit_code == 0, in.output);
    const auto want = tensors(source);
    const auto got = tensors(back + "/iter_0000005");
    CHECK(want.size() == 3 * 28);  // 28 parameters: weights, exp_avg, exp_avg_sq
    REQUIRE(got.size() == want.size());
    for (const auto& [name, entry] : want) {
      CAPTURE(name);
      REQUIRE(got.count(name) == 1);
      CHECK(got.at(name).first == entry.first);
      CHECK(got.at(name).second == entry.second);
    }
  }
  const std::string manifest = read_text(dir / "theret/iter_0000005/manifest.yaml");
  CHECK(manifest.find("tensor_model_parallel_size: 2") != std::string::npos);
  // The pp 2 target: the stages hold disjoint layers; both hold the tied word embeddings.
  const auto stage0 = tensors(dir / "therep/iter_0000005");
  CHECK(stage0.count("shard_tp00_pp000.h5:model/decoder.layers.0.mlp.linear_fc1.weight") == 1);
  CHECK(stage0.count("shard_tp00_pp000.h5:model/decoder.layers.1.mlp.linear_fc1.weight") == 0);
  CHECK(stage0.count("shard_tp00_pp001.h5:model/decoder.layers.1.mlp.linear_fc1.weight") == 1);
  CHECK(stage0.count("shard_tp00_pp001.h5:model/embedding.word_embeddings.weight") == 1);
  CHECK(stage0.count("shard_tp00_pp000.h5:model/embedding.word_embeddings.weight") == 1);

  // Loading the tp 1 checkpoint at tp 2 and loading its tp 2 conversion give the same run.
  const auto direct =
      train(2, "direct.jsonl", layout(2, false) + " --set checkpoint.load=" + source);
  REQUIRE_MESSAGE(direct.exit_code == 0, direct.output);
  const auto converted =
      train(2, "converted.jsonl", layout(2, false) + " --set checkpoint.load=" + (dir / "theret"));
  REQUIRE_MESSAGE(converted.exit_code == 0, converted.output);
  check_resumed(train_losses(dir / "direct.jsonl"), train_losses(dir / "converted.jsonl"), 0);
  check_resumed(train_losses(dir / "full.jsonl"), train_losses(dir / "converted.jsonl"), 1e-6);
  // The pp 2 conversion at one rank resumes exactly as its source does; a dp 2
  // distributed-optimizer conversion at dp 2 like the uninterrupted run.
  const auto same = train(1, "same.jsonl", "--set checkpoint.load=" + source);
  REQUIRE_MESSAGE(same.exit_code == 0, same.output);
  const auto pp = train(1, "pp.jsonl", "--set checkpoint.load=" + (dir / "therep"));
  REQUIRE_MESSAGE(pp.exit_code == 0, pp.output);
  check_resumed(train_losses(dir / "same.jsonl"), train_losses(dir / "pp.jsonl"), 0);
  const auto dist =
      convert(source, dir / "dist", "--data-parallel-size 2 --use-distributed-optimizer true");
  REQUIRE_MESSAGE(dist.exit_code == 0, dist.output);
  CHECK(fs::exists(dir / "dist/iter_0000005/optim_tp00_pp000_dp001.h5"));
  const auto dp2 =
      train(2, "dp2.jsonl", layout(1, true) + " --set checkpoint.load=" + (dir / "dist"));
  REQUIRE_MESSAGE(dp2.exit_code == 0, dp2.output);
  check_resumed(train_losses(dir / "full.jsonl"), train_losses(dir / "dp2.jsonl"), 1e-6);
}

TEST_CASE(
    "a tp 2 checkpoint exports to hf and bad targets damaged or missing shards and version 1 "
    "elsewhere are refused") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  const Run train{dir};
  const auto first = train(2, "first.jsonl", layout(2, false) + save_at_5(dir / "ckpt"));
  REQUIRE_MESSAGE(first.exit_code == 0, first.output);
  const std::string iter = dir / "ckpt/iter_0000005";
  // Export to Hugging Face builds the whole model on one rank, whatever the saved layout.
  const auto hf = run_engine(fmt::format("convert --from {} --to hf {}", dir / "ckpt", dir / "hf"));
  CHECK_MESSAGE(hf.exit_code == 0, hf.output);
  CHECK(fs::exists(dir / "hf/config.json"));
  auto fails_with = [](const CommandResult& r, const std::string& text) {
    CHECK(r.exit_code != 0);
    CHECK_MESSAGE(r.output.find(text) != std::string::npos, r.output);
  };
  fails_with(convert(dir / "ckpt", dir / "ckpt", "--tensor-model-parallel-size 1"),
             "iter_0000005: error: already exists; convert writes a new checkpoint");
  fails_with(convert(dir / "ckpt", dir / "out", "--tensor-model-parallel-size 3"),
             "parallel.tensor_model_parallel_size");
  CHECK_FALSE(fs::exists(dir / "out/iter_0000005"));
  // Version 1 (no placements) loads only at the layout it was saved at.
  std::string manifest = read_text(iter + "/manifest.yaml");
  const std::string v2 = manifest;
  manifest.replace(manifest.find("format_version: 3"), 17, "format_version: 1");
  write_text(iter + "/manifest.yaml", manifest);
  fails_with(train(1, "v1.jsonl", "--set checkpoint.load=" + (dir / "ckpt")),
             "is format version 1, saved at tensor_model_parallel_size 2");
  fails_with(convert(dir / "ckpt", dir / "out", "--tensor-model-parallel-size 1"),
             "format-version-1 checkpoints hold no tensor placements");
  write_text(iter + "/manifest.yaml", v2);
  {
    std::fstream shard(iter + "/shard_tp01_pp000.h5",
                       std::ios::in | std::ios::out | std::ios::binary);
    shard.seekp(-16, std::ios::end);
    shard.put('\x7f');
  }
  fails_with(train(1, "damaged.jsonl", "--set checkpoint.load=" + (dir / "ckpt")),
             "shard_tp01_pp000.h5: error: checkpoint shard does not match the sha256");
  fs::remove(iter + "/shard_tp01_pp000.h5");
  fails_with(convert(dir / "ckpt", dir / "out", "--tensor-model-parallel-size 1"),
             "shard_tp01_pp000.h5: error: checkpoint shard is missing");
}

TEST_CASE("generate loads a tp 2 checkpoint whole and continues like its tp 1 conversion") {
  TempDir dir;
  write_text(dir / "r.yaml", kRecipe);
  write_text(dir / "corpus.jsonl", grammar_corpus_jsonl(100));
  const auto ingest =
      run_engine(fmt::format("ingest --input {} --output {} --tokenizer-type byte --append-eod",
                             dir / "corpus.jsonl", dir / "corpus.h5"));
  REQUIRE_MESSAGE(ingest.exit_code == 0, ingest.output);
  const std::string data = fmt::format(
      " --set data.mock_data=false --set data.data_path=[{}] --set tokenizer.vocab_size=null",
      dir / "corpus.h5");
  const auto first = Run{dir}(2, "first.jsonl", layout(2, false) + data + save_at_5(dir / "ckpt"));
  REQUIRE_MESSAGE(first.exit_code == 0, first.output);
  const auto tp1 = convert(dir / "ckpt", dir / "tp1", "--tensor-model-parallel-size 1");
  REQUIRE_MESSAGE(tp1.exit_code == 0, tp1.output);
  // Only the text (stdout): the logs name the directories.
  auto generate = [](const std::string& ckpt) {
    return run_engine(fmt::format(
        "generate --load {} --prompt 'the cat' --tokens-to-generate 12 --greedy 2>/dev/null",
        ckpt));
  };
  const auto from_tp2 = generate(dir / "ckpt");
  const auto from_tp1 = generate(dir / "tp1");
  REQUIRE_MESSAGE(from_tp2.exit_code == 0, from_tp2.output);
  REQUIRE_MESSAGE(from_tp1.exit_code == 0, from_tp1.output);
  CHECK(from_tp2.output.find("the cat") != std::string::npos);
  CHECK(from_tp2.output == from_tp1.output);
}
