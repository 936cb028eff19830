// Distributed-optimizer state pieces: written by the ranks of one dp size, read back into another
// dp size's shards and into whole state, element by element; a missing file or piece is an error.
#include <doctest/doctest.h>

#include <filesystem>

#include "engine/checkpoint/checkpoint_index.h"
#include "engine/checkpoint/optimizer_shards.h"
#include "engine/optim/optimizer.h"
#include "engine/recipe/recipe.h"
#include "tests/support/process.h"

using namespace me;

namespace {

// Three parameters; buckets of >= `bucket_elems` elements, padded for `dp`.
struct Params {
  Parameter w1{"w1", {3, 7}};
  Parameter w2{"w2", {50}};
  Parameter n{"n", {5}, ParamInit::zeros(), false};
  ParamBuffers buffers;
  Params(int64_t bucket_elems, int64_t dp)
      : buffers({&w1, &w2, &n}, Device::cpu(), ParamLayoutOptions{64, bucket_elems, dp}) {}
};

Recipe adam_recipe() {
  Recipe r{};
  r.optimizer.optimizer = "adam";
  r.optimizer.adam_beta1 = 0.9;
  r.optimizer.adam_beta2 = 0.95;
  r.optimizer.adam_eps = 1e-8;
  return r;
}

// The value every state element should hold: distinct per state, parameter and element.
float expected(int state, const std::string& param, int64_t element) {
  const int code = param == "w1" ? 1 : param == "w2" ? 2 : 3;
  return static_cast<float>(state * 100000 + code * 1000 + element);
}

// Fills a (possibly sharded) optimizer's state with expected() through its owned pieces.
void fill(Params& p, Optimizer& optimizer) {
  int state = 0;
  for (auto& [name, flat] : optimizer.state_buffers()) {
    float* out = flat->data<float>();
    for (const UpdateRun& run : update_runs(p.buffers.layout(), optimizer.shard())) {
      for (int64_t i = run.begin; i < run.end; ++i) {
        for (const ParamSlot& slot : p.buffers.layout().slots) {
          if (i >= slot.offset && i < slot.offset + slot.param->numel()) {
            out[run.state_begin + (i - run.begin)] =
                expected(state, slot.param->name, i - slot.offset);
          }
        }
      }
    }
    ++state;
  }
}

int64_t count_wrong(Params& p, Optimizer& optimizer) {
  int64_t wrong = 0;
  int state = 0;
  for (auto& [name, flat] : optimizer.state_buffers()) {
    const float* got = flat->data<float>();
    for (const UpdateRun& run : update_runs(p.buffers.layout(), optimizer.shard())) {
      for (int64_t i = run.begin; i < run.end; ++i) {
        for (const ParamSlot& slot : p.buffers.layout().slots) {
          if (i >= slot.offset && i < slot.offset + slot.param->numel()) {
            wrong += got[run.state_begin + (i - run.begin)] ==
                             expected(state, slot.param->name, i - slot.offset)
                         ? 0
                         : 1;
          }
        }
      }
    }
    ++state;
  }
  return wrong;
}

}  // namespace

TEST_CASE("optimizer state pieces saved at dp 2 load into dp 4 shards and into whole state") {
  testing::TempDir dir;
  Params saved(20, 2);  // several buckets
  REQUIRE(saved.buffers.layout().buckets.size() >= 2);
  Topology topology;
  topology.dp = 2;
  topology.world_size = 2;
  std::vector<std::string> files;
  int64_t elements = 0;
  for (int64_t r = 0; r < 2; ++r) {
    topology.dp_rank = r;
    auto optimizer =
        OptimizerRegistry::instance().create("adam", saved.buffers, adam_recipe(), {r, 2});
    fill(saved, *optimizer);
    files.push_back(dir / optimizer_shard_file_name(topology, r));
    const std::vector<StoredTensor> pieces =
        optimizer_piece_tensors(saved.buffers, *optimizer, true);
    for (const StoredTensor& t : pieces) elements += t.placement.size();
    write_shard_file(files.back(), pieces);
  }
  CHECK(elements == 2 * (21 + 50 + 5));  // 2 states x every element of every parameter, once

  CheckpointIndex index(files);
  CHECK(index.optimizer_states() == std::set<std::string>{"exp_avg", "exp_avg_sq"});
  Params into4(1000, 4);  // another bucket layout: one bucket
  for (int64_t r = 0; r < 4; ++r) {
    CAPTURE(r);
    auto optimizer =
        OptimizerRegistry::instance().create("adam", into4.buffers, adam_recipe(), {r, 4});
    load_optimizer_state(index, into4.buffers, *optimizer);
    CHECK(count_wrong(into4, *optimizer) == 0);
  }
  Params whole(0, 1);
  auto optimizer = OptimizerRegistry::instance().create("adam", whole.buffers, adam_recipe(), {});
  load_optimizer_state(index, whole.buffers, *optimizer);
  CHECK(count_wrong(whole, *optimizer) == 0);

  // Only dp rank 0's file: what rank 1 owned is missing, named with the tensor.
  CheckpointIndex half({files[0]});
  CHECK_THROWS_WITH_AS(load_optimizer_state(half, whole.buffers, *optimizer),
                       doctest::Contains("tensor 'optimizer/exp_avg/"), Error);
  std::filesystem::remove(files[1]);
  CHECK_THROWS_WITH_AS(CheckpointIndex{files}, doctest::Contains("checkpoint shard is missing"),
                       Error);
}
