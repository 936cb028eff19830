// The distributed optimizer's shards: update runs clipped to hand-computed bucket shards, and
// optimizer state per rank falling as 1/dp, in step with `plan`'s optimizer-memory figure.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "engine/models/model.h"
#include "engine/optim/optimizer.h"
#include "engine/distributed/grad_reducer.h"
#include "engine/plan/plan.h"
#include "tests/support/process.h"

using namespace me;

TEST_CASE("update runs follow each rank's shard of every bucket") {
  // Forward w1 (7, wd), w2 (10, wd), n (5, no wd). Buckets of >= 10 elements at dp 2 close at
  // multiples of 128: bucket 0 = [0, 128) holds n [0, 5) and w2 [64, 74); bucket 1 = [128, 256)
  // holds w1 [128, 135). Rank 0 owns [0, 64) and [128, 192); rank 1 owns [64, 128) and [192, 256).
  Parameter w1{"w1", {7}};
  Parameter w2{"w2", {10}};
  Parameter n{"n", {5}, ParamInit::zeros(), false};
  const ParamLayout layout = ParamLayout::plan({&w1, &w2, &n}, {64, 10, 2});
  REQUIRE(layout.buckets == std::vector<std::pair<int64_t, int64_t>>{{0, 128}, {128, 256}});
  CHECK(bucket_shard(layout, 1, {1, 2}) == std::pair<int64_t, int64_t>{192, 256});
  CHECK(shard_elems(layout, {0, 2}) == 128);

  const std::vector<UpdateRun> rank0 = update_runs(layout, {0, 2});
  REQUIRE(rank0.size() == 2);
  CHECK((rank0[0].begin == 0 && rank0[0].end == 5 && !rank0[0].weight_decay &&
         rank0[0].state_begin == 0));
  CHECK((rank0[1].begin == 128 && rank0[1].end == 135 && rank0[1].weight_decay &&
         rank0[1].state_begin == 64));
  const std::vector<UpdateRun> rank1 = update_runs(layout, {1, 2});
  REQUIRE(rank1.size() == 1);
  CHECK((rank1[0].begin == 64 && rank1[0].end == 74 && rank1[0].weight_decay &&
         rank1[0].state_begin == 0));
  // The whole buffer: state offsets equal buffer offsets, as before sharding existed.
  for (const UpdateRun& run : update_runs(layout)) CHECK(run.state_begin == run.begin);
}

TEST_CASE("optimizer state per rank falls as 1 over dp and agrees with the plan") {
  testing::TempDir dir;
  testing::write_text(dir / "r.yaml", R"(model: {num_layers: 2, hidden_size: 64,
  num_attention_heads: 4, seq_length: 64, max_position_embeddings: 64}
data: {mock_data: true}
tokenizer: {vocab_size: 256}
train: {micro_batch_size: 1, train_iters: 1}
optimizer: {lr: 0.001}
parallel: {use_distributed_optimizer: true}
)");
  for (const char* name : {"adam", "sgd"}) {
    CAPTURE(name);
    const double moments = std::string(name) == "adam" ? 2.0 : 1.0;
    double state_bytes_dp1 = 0;
    for (int64_t dp : {1, 2, 4}) {
      CAPTURE(dp);
      const Recipe recipe =
          load_recipe(dir / "r.yaml", {fmt::format("optimizer.optimizer={}", name)}, dp);
      const PlanReport plan = plan_recipe(recipe, 256);
      auto model = ModelRegistry::instance().create("gpt", recipe, plan.padded_vocab_size);
      const Topology topology = Topology::build(recipe, dp, 0);
      ParamBuffers buffers(model->parameters(), Device::cpu(),
                           data_parallel_layout_options(recipe, topology));
      double state_bytes = 0;
      for (int64_t rank = 0; rank < dp; ++rank) {
        auto optimizer =
            OptimizerRegistry::instance().create(name, buffers, recipe, OptimizerShard{rank, dp});
        double rank_bytes = 0;
        for (const auto& [state, tensor] : optimizer->state_buffers()) {
          CHECK(tensor->numel() * dp == buffers.layout().total_elems);
          rank_bytes += 4.0 * static_cast<double>(tensor->numel());
        }
        CHECK(rank_bytes == moments * 4.0 * buffers.layout().total_elems / dp);
        if (rank == 0) state_bytes = rank_bytes;
      }
      if (dp == 1) state_bytes_dp1 = state_bytes;
      CHECK(state_bytes == doctest::Approx(state_bytes_dp1 / dp).epsilon(1e-12));
      // The plan counts parameters; the buffers add alignment and bucket padding (under 2%).
      CHECK(state_bytes == doctest::Approx(plan.memory.optimizer).epsilon(0.02));
    }
  }
}
