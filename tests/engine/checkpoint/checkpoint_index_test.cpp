// The checkpoint index over synthetic shard files: tensor-parallel shards read into other tp sizes
// and pieces, a pipeline-split checkpoint (disjoint layer names, a tied embedding in both files)
// read into one rank, and every bad input as an error naming the tensor and the file.
#include <doctest/doctest.h>

#include <filesystem>

#include "datasets/hdf5_file.h"
#include "engine/checkpoint/checkpoint_index.h"
#include "engine/checkpoint/shard_file.h"
#include "tests/support/process.h"

using namespace me;

namespace {

// A full [rows, cols] tensor with distinct values: 100 * row + col + offset.
Tensor full_tensor(int64_t rows, int64_t cols, float offset = 0.0f) {
  std::vector<float> v;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) v.push_back(static_cast<float>(100 * r + c) + offset);
  }
  return Tensor::from_vector(v, {rows, cols});
}

StoredTensor stored(const std::string& name, const Tensor& full, const Partition& partition) {
  return {name, partition.slice(full), Placement::whole(full.shape(), partition)};
}

std::vector<float> read(CheckpointIndex& index, const std::string& name, const Placement& want) {
  std::vector<float> out(static_cast<size_t>(want.size()), -1.0f);
  index.read(name, want, out.data());
  return out;
}

std::vector<float> values(const Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

// Two tp 2 shard files: a row-parallel weight split by columns, a fused [gate | up] weight split
// by rows, and a replicated bias stored by both ranks.
struct Tp2Checkpoint {
  testing::TempDir dir;
  Tensor proj = full_tensor(4, 6);
  Tensor fc1 = full_tensor(8, 3, 0.5f);
  Tensor bias = full_tensor(1, 6, 0.25f).reshape({6});
  std::vector<std::string> files;
  Tp2Checkpoint() {
    for (int64_t r = 0; r < 2; ++r) {
      files.push_back(dir / ("shard_tp0" + std::to_string(r) + "_pp000.h5"));
      write_shard_file(files.back(), {stored("model/proj", proj, Partition{1, r, 2}),
                                      stored("model/fc1", fc1, Partition{0, r, 2, {4, 4}}),
                                      stored("model/bias", bias, Partition{})});
    }
  }
};

}  // namespace

TEST_CASE("unequal fused blocks keep their lengths in the shard file and read into any tp") {
  testing::TempDir dir;
  const Tensor in_proj = full_tensor(12, 2);
  const std::vector<int64_t> blocks = {4, 2, 6};  // e.g. [z | dt | x], each split over 2 ranks
  std::vector<std::string> files;
  for (int64_t r = 0; r < 2; ++r) {
    files.push_back(dir / ("shard_tp0" + std::to_string(r) + "_pp000.h5"));
    write_shard_file(files.back(),
                     {stored("model/in_proj", in_proj, Partition{0, r, 2, blocks}),
                      stored("model/fc1", full_tensor(8, 3, 0.5f), Partition{0, r, 2, {4, 4}})});
  }
  for (const ShardEntry& e : list_shard_file(files[1])) {
    CAPTURE(e.dataset);
    CHECK(e.placement.partition.rank == 1);
    // Unequal blocks are listed; equal ones follow from their count and the global shape.
    CHECK(e.placement.partition.blocks ==
          (e.dataset == "model/in_proj" ? blocks : std::vector<int64_t>{4, 4}));
  }
  CheckpointIndex index(files);
  CHECK(read(index, "model/in_proj", Placement::whole({12, 2})) == values(in_proj));
  // Rank 0 of tp 1 x 2 with the same blocks: rows 0-1, 4, 6-8.
  const Partition rank0{0, 0, 2, blocks};
  CHECK(read(index, "model/in_proj", Placement::whole({12, 2}, rank0)) ==
        values(rank0.slice(in_proj)));
  CHECK(values(rank0.slice(in_proj)) ==
        std::vector<float>{0, 1, 100, 101, 400, 401, 600, 601, 700, 701, 800, 801});
}

TEST_CASE("tp 2 shards read into tp 1 tp 3 and a distributed-optimizer piece") {
  Tp2Checkpoint ckpt;
  CheckpointIndex index(ckpt.files);
  CHECK(read(index, "model/proj", Placement::whole({4, 6})) == values(ckpt.proj));
  CHECK(read(index, "model/fc1", Placement::whole({8, 3})) == values(ckpt.fc1));
  CHECK(read(index, "model/bias", Placement::whole({6})) == values(ckpt.bias));
  for (int64_t r = 0; r < 3; ++r) {
    CAPTURE(r);
    const Partition tp3{1, r, 3};
    CHECK(read(index, "model/proj", Placement::whole({4, 6}, tp3)) == values(tp3.slice(ckpt.proj)));
  }
  // tp 4 rank 1 holds full rows 1 (gate) and 5 (up); its elements [2, 5) are the last of row 1
  // and the first two of row 5.
  const Placement piece{{8, 3}, Partition{0, 1, 4, {4, 4}}, 2, 5};
  CHECK(read(index, "model/fc1", piece) == std::vector<float>{102.5f, 500.5f, 501.5f});
}

TEST_CASE("a pipeline-split checkpoint of two files with disjoint layers loads into one rank") {
  testing::TempDir dir;
  const Tensor embedding = full_tensor(10, 4);
  const Tensor layer0 = full_tensor(4, 4, 1000.0f), layer1 = full_tensor(4, 4, 2000.0f);
  const std::vector<std::string> files = {dir / "shard_tp00_pp000.h5", dir / "shard_tp00_pp001.h5"};
  write_shard_file(files[0], {stored("model/embedding.word_embeddings.weight", embedding, {}),
                              stored("model/decoder.layers.0.w", layer0, {})});
  // The last stage holds layer 1 and, tied, its own equal copy of the word embeddings.
  write_shard_file(files[1], {stored("model/decoder.layers.1.w", layer1, {}),
                              stored("model/embedding.word_embeddings.weight", embedding, {})});
  CheckpointIndex index(files);
  CHECK(read(index, "model/decoder.layers.0.w", Placement::whole({4, 4})) == values(layer0));
  CHECK(read(index, "model/decoder.layers.1.w", Placement::whole({4, 4})) == values(layer1));
  CHECK(read(index, "model/embedding.word_embeddings.weight", Placement::whole({10, 4})) ==
        values(embedding));
  // And into tp 2: the vocabulary rows of rank 1.
  const Partition rows{0, 1, 2};
  CHECK(read(index, "model/embedding.word_embeddings.weight", Placement::whole({10, 4}, rows)) ==
        values(rows.slice(embedding)));
}

TEST_CASE("vocabulary tables padded for another tp are cut or extended with their last row") {
  testing::TempDir dir;
  const Tensor table = full_tensor(6, 2);  // 6 padded vocabulary rows
  const std::string file = dir / "shard.h5";
  write_shard_file(file, {stored("model/embedding.word_embeddings.weight", table, {}),
                          stored("optimizer/exp_avg/output_layer.weight", table, Partition{}),
                          stored("model/other.weight", table, {})});
  CheckpointIndex index({file});
  // 8 rows at tp 2, rank 1: rows 4 and 5 as stored, 6 and 7 copies of row 5.
  const Placement rank1 = Placement::whole({8, 2}, Partition{0, 1, 2});
  const std::vector<float> extended = {400, 401, 500, 501, 500, 501, 500, 501};
  CHECK(read(index, "model/embedding.word_embeddings.weight", rank1) == extended);
  CHECK(read(index, "optimizer/exp_avg/output_layer.weight", rank1) == extended);
  // 4 rows: the padding past them is dropped.
  CHECK(read(index, "model/embedding.word_embeddings.weight", Placement::whole({4, 2})) ==
        std::vector<float>{0, 1, 100, 101, 200, 201, 300, 301});
  // Only vocabulary tables, and only their rows.
  CHECK_THROWS_WITH_AS(read(index, "model/other.weight", Placement::whole({8, 2})),
                       doctest::Contains("has shape [6, 2] in the checkpoint, the model expects "
                                         "[8, 2]"),
                       Error);
  CHECK_THROWS_WITH_AS(
      read(index, "model/embedding.word_embeddings.weight", Placement::whole({6, 3})),
      doctest::Contains("the model expects [6, 3]"), Error);
}

TEST_CASE("missing tensors misfit shapes missing elements and missing or foreign files are named") {
  Tp2Checkpoint ckpt;
  CheckpointIndex index(ckpt.files);
  CHECK_THROWS_WITH_AS(read(index, "model/nothing", Placement::whole({4, 6})),
                       doctest::Contains("tensor 'model/nothing' is not in the checkpoint"), Error);
  CHECK_THROWS_WITH_AS(
      read(index, "model/proj", Placement::whole({4, 8})),
      doctest::Contains("shard_tp00_pp000.h5: error: tensor 'model/proj' has "
                        "shape [4, 6] in the checkpoint, the model expects [4, 8]"),
      Error);
  CheckpointIndex half({ckpt.files[0]});
  CHECK_THROWS_WITH_AS(read(half, "model/proj", Placement::whole({4, 6})),
                       doctest::Contains("tensor 'model/proj': 12 of the 24 elements this rank "
                                         "needs are in no shard (the first is flat index 3"),
                       Error);
  // The half that is there still reads.
  CHECK(read(half, "model/proj", Placement::whole({4, 6}, Partition{1, 0, 2})) ==
        values(Partition{1, 0, 2}.slice(ckpt.proj)));
  const std::string v1 = ckpt.dir / "v1.h5";
  {
    H5File file = H5File::create(v1);
    H5Dataset d = file.create_dataset("model/proj", H5T_IEEE_F32LE, {4, 6});
    d.write_rows(H5T_NATIVE_FLOAT, 0, 4, ckpt.proj.data<float>());
  }
  CHECK_THROWS_WITH_AS(CheckpointIndex({v1}),
                       doctest::Contains("dataset 'model/proj' has no 'global_shape' attribute"),
                       Error);
  std::filesystem::remove(ckpt.files[1]);
  CHECK_THROWS_WITH_AS(CheckpointIndex{ckpt.files},
                       doctest::Contains("shard_tp01_pp000.h5: error: checkpoint shard is missing"),
                       Error);
}
