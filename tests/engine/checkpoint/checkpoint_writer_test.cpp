// CheckpointWriter: an async save writes the values of the moment it was called, whatever
// training does next; it matches a synchronous save byte for byte; saves queue one after another.
#include "engine/checkpoint/checkpoint_writer.h"

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>

#include "engine/optim/param_buffers.h"
#include "engine/parallel/communicator.h"
#include "tests/support/process.h"

using namespace me;

namespace {

const char* kRecipe = R"(model:
  num_layers: 1
  hidden_size: 16
  num_attention_heads: 2
  seq_length: 16
  max_position_embeddings: 16
data:
  mock_data: true
tokenizer:
  vocab_size: 32
train:
  micro_batch_size: 1
  train_iters: 10
optimizer:
  lr: 0.001
)";

struct Fixture {
  Parameter w{"layer.weight", {3, 5}, ParamInit::zeros()};
  Parameter b{"layer.bias", {5}, ParamInit::zeros(), false};
  ParamBuffers buffers{{&w, &b}, Device::cpu()};
  Recipe recipe = parse_recipe(kRecipe, "<test>");
  Topology topology = Topology::build(recipe, 1, 0);
  SelfCommunicator comm;

  void fill(float base) {
    for (int64_t i = 0; i < 15; ++i) w.main.data<float>()[i] = base + static_cast<float>(i);
    for (int64_t i = 0; i < 5; ++i) b.main.data<float>()[i] = -base - static_cast<float>(i);
  }
  void save(CheckpointWriter& writer, const std::string& root, int64_t iteration) {
    TrainingState state;
    state.iteration = iteration;
    writer.save(root, recipe, state, buffers, nullptr, topology, comm);
  }
};

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("an async save holds the values of the moment it was called") {
  testing::TempDir dir;
  Fixture f;
  f.fill(1.0f);
  {
    CheckpointWriter writer(true);
    f.save(writer, dir / "async", 7);
    f.fill(100.0f);  // the next training step, while the save is in flight
    writer.wait(f.comm);
  }
  Fixture loaded;
  load_checkpoint(read_manifest(dir / "async/iter_0000007"), loaded.buffers, nullptr,
                  loaded.topology);
  CHECK(loaded.w.main.data<float>()[0] == 1.0f);
  CHECK(loaded.w.main.data<float>()[14] == 15.0f);
  CHECK(loaded.b.main.data<float>()[4] == -5.0f);
}

TEST_CASE("an async save equals a synchronous save byte for byte") {
  testing::TempDir dir;
  Fixture f;
  f.fill(3.5f);
  CheckpointWriter sync_writer(false);
  f.save(sync_writer, dir / "sync", 4);
  {
    CheckpointWriter async_writer(true);
    f.save(async_writer, dir / "async", 4);
  }  // the destructor joins the save in flight
  const std::string shard = "/iter_0000004/shard_tp00_pp000.h5";
  const std::string sync_bytes = file_bytes(dir / "sync" + shard);
  CHECK(sync_bytes.size() > 100);
  CHECK(file_bytes(dir / "async" + shard) == sync_bytes);
  CHECK(file_bytes(dir / "async/iter_0000004/manifest.yaml") ==
        file_bytes(dir / "sync/iter_0000004/manifest.yaml"));
}

TEST_CASE("a second async save waits for the first and both complete") {
  testing::TempDir dir;
  Fixture f;
  CheckpointWriter writer(true);
  f.fill(1.0f);
  f.save(writer, dir / "ckpt", 1);
  f.fill(2.0f);
  f.save(writer, dir / "ckpt", 2);
  writer.wait(f.comm);
  CHECK(file_bytes(dir / "ckpt/latest") == "iter_0000002\n");
  for (const int64_t iteration : {1, 2}) {
    Fixture loaded;
    load_checkpoint(read_manifest(dir / fmt::format("ckpt/iter_{:07d}", iteration)), loaded.buffers,
                    nullptr, loaded.topology);
    CHECK(loaded.w.main.data<float>()[0] == static_cast<float>(iteration));
  }
}
