// Data parallelism in process on 2 and 4 MPI ranks: a tiny GPT's gradients reduced in buckets
// (all-reduce and reduce-scatter) match one replica that ran every rank's micro-batch, parameter
// by parameter, and a distributed-optimizer Adam step matches the whole-buffer step.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "engine/models/model.h"
#include "engine/distributed/distributed_optimizer.h"
#include "engine/distributed/grad_norm.h"
#include "engine/distributed/grad_reducer.h"
#include "kernels/elementwise.h"
#include "tests/support/lm_loss.h"
#include "tests/support/mpi_launch.h"
#include "tests/support/random_lm_batch.h"
#include "tests/support/tiny_recipe.h"

using namespace me;

namespace {

constexpr int64_t kVocab = 61, kPadded = 64, kB = 2, kT = 8;

Batch make_batch(uint64_t seed) { return test::RandomLmBatch{kT, kVocab}.rows(seed, 0, kB); }

Recipe tiny_recipe() {
  Recipe r = test::tiny_gpt_recipe();
  r.parallel.tensor_model_parallel_size = 1;
  r.parallel.pipeline_model_parallel_size = 1;
  r.parallel.context_parallel_size = 1;
  r.parallel.use_distributed_optimizer = true;
  r.optimizer.optimizer = "adam";
  r.optimizer.adam_beta1 = 0.9;
  r.optimizer.adam_beta2 = 0.95;
  r.optimizer.adam_eps = 1e-8;
  return r;
}

// One model with its flat buffers, initialised from a fixed seed.
struct Replica {
  std::unique_ptr<Model> model;
  std::unique_ptr<ParamBuffers> buffers;
  Replica(const Recipe& recipe, const ParamLayoutOptions& options)
      : model(ModelRegistry::instance().create("gpt", recipe, kPadded)),
        buffers(std::make_unique<ParamBuffers>(model->parameters(), Device::cpu(), options)) {
    for (Parameter* p : buffers->parameters()) initialize_parameter(*p, 1234);
  }
  // Megatron's normalisation: each micro-batch's mean token loss over `num_microbatches`.
  void accumulate(int64_t micro_batch, int64_t num_microbatches) {
    MicroBatchContext ctx(true, 1234, 0, static_cast<uint64_t>(micro_batch));
    const test::LmLoss sums = test::lm_forward(*model, make_batch(100 + micro_batch), ctx);
    test::lm_backward(*model, 1.0 / (sums.num_tokens * static_cast<double>(num_microbatches)), ctx);
  }
};

bool close(float got, float want) { return std::abs(got - want) <= 1e-7 + 1e-5 * std::abs(want); }

void check_data_parallel(int64_t dp) {
  auto comm = make_world_communicator();
  comm->set_timeout(120);
  REQUIRE(comm->size() == dp);
  const Recipe recipe = tiny_recipe();
  const Topology topology = Topology::build(recipe, dp, comm->rank());
  ParamLayoutOptions options;
  options.bucket_elems = 700;  // several buckets for a ~6k-parameter model
  options.data_parallel_size = dp;

  Replica reference(recipe, options);  // every rank's micro-batch, in one process
  for (int64_t m = 0; m < dp; ++m) reference.accumulate(m, dp);
  const int64_t buckets = static_cast<int64_t>(reference.buffers->layout().buckets.size());
  REQUIRE(buckets >= 4);

  Replica replica(recipe, options);  // this rank's micro-batch, then the all-reduce
  replica.accumulate(comm->rank(), 1);
  GradReducer all_reduce(*replica.buffers, *comm, OptimizerShard{});
  all_reduce.bucket_ready(1);  // out of order, as an overlapping backward may report them
  all_reduce.finish();
  CHECK(all_reduce.buckets_reduced() == buckets);
  scale(replica.buffers->grads(), 1.0 / static_cast<double>(dp));
  for (Parameter* p : replica.buffers->parameters()) {
    const std::vector<float> got = p->grad.to_vector<float>();
    const std::vector<float> want = reference.buffers->find(p->name)->grad.to_vector<float>();
    int64_t bad = 0;
    for (size_t i = 0; i < got.size(); ++i) bad += close(got[i], want[i]) ? 0 : 1;
    CHECK_MESSAGE(bad == 0, p->name);
  }
  SelfCommunicator one_stage;
  auto norm = [&](ParamBuffers& buffers, Communicator* shards) {
    return global_grad_norm({{buffers.parameters(), &buffers.grads(), shards}}, TensorParallel{},
                            one_stage);
  };
  CHECK(norm(*replica.buffers, nullptr) ==
        doctest::Approx(std::sqrt(sum_of_squares(reference.buffers->grads()))).epsilon(1e-5));

  Replica sharded(recipe, options);  // reduce-scatter and the distributed optimizer
  sharded.accumulate(comm->rank(), 1);
  const OptimizerShard shard{topology.dp_rank, dp};
  GradReducer scatter(*sharded.buffers, *comm, shard);
  scatter.finish();
  scale(sharded.buffers->grads(), 1.0 / static_cast<double>(dp));
  const std::vector<float> got = sharded.buffers->grads().to_vector<float>();
  const std::vector<float> want = reference.buffers->grads().to_vector<float>();
  int64_t bad = 0, owned = 0;
  for (int64_t b = 0; b < buckets; ++b) {
    const auto [begin, end] = reference.buffers->layout().buckets[static_cast<size_t>(b)];
    const auto [own_begin, own_end] = bucket_shard(reference.buffers->layout(), b, shard);
    for (int64_t i = begin; i < end; ++i) {
      const bool mine = i >= own_begin && i < own_end;
      owned += mine ? 1 : 0;
      bad += (mine ? close(got[i], want[i]) : got[i] == 0.0f) ? 0 : 1;
    }
  }
  CHECK(bad == 0);
  CHECK(owned * dp == reference.buffers->layout().total_elems);
  CHECK(norm(*sharded.buffers, comm.get()) ==
        doctest::Approx(norm(*replica.buffers, nullptr)).epsilon(1e-5));
  CHECK(scatter.all_finite());

  auto distributed = make_optimizer(*sharded.buffers, recipe, *comm);
  CHECK(dynamic_cast<DistributedOptimizer*>(distributed.get()) != nullptr);
  for (const auto& [name, state] : distributed->state_buffers()) {
    CHECK(state->numel() * dp == reference.buffers->layout().total_elems);
  }
  auto whole =
      OptimizerRegistry::instance().create("adam", *reference.buffers, recipe, OptimizerShard{});
  distributed->step(1e-3, 0.1);
  whole->step(1e-3, 0.1);
  for (Parameter* p : sharded.buffers->parameters()) {
    const std::vector<float> after = p->main.to_vector<float>();
    const std::vector<float> expected = reference.buffers->find(p->name)->main.to_vector<float>();
    int64_t differ = 0;
    for (size_t i = 0; i < after.size(); ++i) differ += close(after[i], expected[i]) ? 0 : 1;
    CHECK_MESSAGE(differ == 0, p->name);
  }
}

}  // namespace

TEST_CASE("bucketed gradient reduction on 2 ranks matches one rank") {
  if (!launched_by_mpi()) {
    const auto run =
        testing::run_self_under_mpi(2, "bucketed gradient reduction on 2 ranks matches one rank");
    REQUIRE_MESSAGE(run.exit_code == 0, run.output);
    return;
  }
  check_data_parallel(2);
}

TEST_CASE("bucketed gradient reduction on 4 ranks matches one rank") {
  if (!launched_by_mpi()) {
    const auto run =
        testing::run_self_under_mpi(4, "bucketed gradient reduction on 4 ranks matches one rank");
    REQUIRE_MESSAGE(run.exit_code == 0, run.output);
    return;
  }
  check_data_parallel(4);
}
