// `megatron-engine inspect` end to end: a token dataset's counts, a checkpoint's state, model and
// tensor norms (checked by hand and by reading the shard independently), and damaged inputs.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <hdf5.h>

#include <cmath>
#include <fstream>
#include <vector>

#include "tests/support/process.h"

using namespace me::testing;

namespace {

// Three documents of 2, 4 and 6 bytes: with EOD appended 3, 5 and 7 tokens.
std::string small_dataset(const TempDir& dir) {
  write_text(dir / "docs.jsonl",
             "{\"text\": \"ab\"}\n{\"text\": \"abcd\"}\n{\"text\": \"abcdef\"}\n");
  const auto ingest =
      run_engine(fmt::format("ingest --input {} --output {} --tokenizer-type byte --append-eod",
                             dir / "docs.jsonl", dir / "docs.h5"));
  REQUIRE_MESSAGE(ingest.exit_code == 0, ingest.output);
  return dir / "docs.h5";
}

// Trains 2 iterations with lr 0, so every tensor keeps its initial value, and saves at 2.
std::string untrained_checkpoint(const TempDir& dir) {
  write_text(dir / "r.yaml", fmt::format(R"(model:
  num_layers: 1
  hidden_size: 16
  num_attention_heads: 2
  seq_length: 8
  max_position_embeddings: 8
data:
  mock_data: true
tokenizer:
  vocab_size: 64
train:
  micro_batch_size: 2
  train_iters: 2
  eval_iters: 0
optimizer:
  lr: 0.0
  min_lr: 0.0
checkpoint:
  save: {}
  save_interval: 2
)",
                                         dir / "ckpt"));
  const auto train = run_engine(fmt::format("--recipe {}", dir / "r.yaml"));
  REQUIRE_MESSAGE(train.exit_code == 0, train.output);
  return dir / "ckpt";
}

// The L2 norm of one float dataset, read whole with the HDF5 C API.
double norm_in_shard(const std::string& shard, const std::string& name) {
  const hid_t file = H5Fopen(shard.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const hid_t dataset = H5Dopen2(file, name.c_str(), H5P_DEFAULT);
  REQUIRE(dataset >= 0);
  const hid_t space = H5Dget_space(dataset);
  std::vector<float> values(static_cast<size_t>(H5Sget_simple_extent_npoints(space)));
  REQUIRE(H5Dread(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0);
  H5Sclose(space);
  H5Dclose(dataset);
  H5Fclose(file);
  double sum = 0.0;
  for (float v : values) sum += static_cast<double>(v) * v;
  return std::sqrt(sum);
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("inspect reports a token dataset's tokenizer and document statistics") {
  TempDir dir;
  const auto run = run_engine("inspect " + small_dataset(dir));
  REQUIRE_MESSAGE(run.exit_code == 0, run.output);
  CHECK_MESSAGE(has(run.output, "format: megatron-engine-tokens version 1"), run.output);
  CHECK(has(run.output, "tokenizer: byte"));
  CHECK(has(run.output, "vocab size: 257"));
  CHECK(has(run.output, "eod: 256"));
  CHECK(has(run.output, "documents: 3\n"));
  CHECK(has(run.output, "tokens: 15\n"));
  CHECK(has(run.output, "document length: mean 5.0, min 3, max 7"));
  CHECK(has(run.output, "docs.jsonl (51 bytes, sha256 "));
}

TEST_CASE("inspect reports a checkpoint's state and every tensor with its norm") {
  TempDir dir;
  const std::string ckpt = untrained_checkpoint(dir);
  const auto run = run_engine("inspect " + ckpt);
  REQUIRE_MESSAGE(run.exit_code == 0, run.output);
  CHECK_MESSAGE(has(run.output, "iter_0000002 (1 shard(s), sha256 verified)"), run.output);
  CHECK(has(run.output, "iteration: 2\n"));
  CHECK(has(run.output, "consumed samples: 4 train, 0 valid"));
  CHECK(has(run.output, "layout: world size 1, tp 1, pp 1, dp 1"));
  CHECK(has(run.output, "optimizer: adam (state stored)"));
  CHECK(has(run.output, "model: gpt, 1 layers, hidden 16, ffn 64, 2 heads"));
  // lr 0 keeps the initial values: LayerNorm weights are ones (norm sqrt(16) = 4), biases zero.
  CHECK(has(run.output, "model/decoder.final_layernorm.weight  f32 [16]  norm 4\n"));
  CHECK(has(run.output, "model/decoder.final_layernorm.bias  f32 [16]  norm 0\n"));
  const std::string shard = ckpt + "/iter_0000002/shard_tp00_pp000.h5";
  const std::string fc1 = "model/decoder.layers.0.mlp.linear_fc1.weight";
  CHECK(has(run.output,
            fmt::format("{}  f32 [64, 16]  norm {:.6g}\n", fc1, norm_in_shard(shard, fc1))));
  CHECK(has(run.output, "optimizer/"));
}

TEST_CASE("inspect refuses a damaged checkpoint with exit code 5") {
  TempDir dir;
  const std::string ckpt = untrained_checkpoint(dir);
  {
    std::fstream shard(ckpt + "/iter_0000002/shard_tp00_pp000.h5",
                       std::ios::in | std::ios::out | std::ios::binary);
    shard.seekp(-8, std::ios::end);
    shard.put('\x5a');
  }
  const auto run = run_engine("inspect " + ckpt);
  CHECK_MESSAGE(run.exit_code == 5, run.output);
  CHECK(has(run.output, "does not match the sha256 in its manifest (damaged)"));
}

TEST_CASE("inspect refuses a damaged dataset with exit code 3 and a missing path with code 2") {
  TempDir dir;
  write_text(dir / "bad.h5", "not an HDF5 file at all");
  const auto bad = run_engine("inspect " + dir / "bad.h5");
  CHECK_MESSAGE(bad.exit_code == 3, bad.output);
  CHECK(has(bad.output, "bad.h5"));
  const auto empty = run_engine("inspect " + dir.path().string());
  CHECK_MESSAGE(empty.exit_code == 5, empty.output);
  CHECK(has(empty.output, "no checkpoint here"));
  const auto missing = run_engine("inspect " + dir / "absent");
  CHECK_MESSAGE(missing.exit_code == 2, missing.output);
  CHECK(has(missing.output, "no such file or directory"));
}
