// Overlap of the data-parallel communication with a tiny GPT, seen from rank 0 of a two-rank
// group whose peer holds the same values (a sum doubles, a gather copies rank 0's half over rank
// 1's). Every start and wait is logged beside the modules' forward and backward: the first
// gradient bucket's reduce starts before backward reaches the first decoder layer, each bucket
// starts holding exactly its final gradients (the single-process reference's), nothing starts
// on an earlier micro-batch (with or without full recompute), and finish() leaves exactly twice
// the reference. The parameter gathers start after the step last bucket first, each is waited
// on just before the first module reading it, and the forward's loss is the one over fully
// gathered parameters.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/models/model.h"
#include "engine/distributed/data_parallel_overlap.h"
#include "kernels/elementwise.h"
#include "tests/support/lm_loss.h"
#include "tests/support/mirror_communicator.h"
#include "tests/support/random_lm_batch.h"
#include "tests/support/tiny_recipe.h"

using namespace me;
using me::test::MirrorCommunicator;

namespace {

constexpr int64_t kVocab = 61, kPadded = 64, kB = 2, kT = 8;

using Log = std::vector<std::string>;

// Logs each module event, then passes it on.
class LoggingObserver final : public ModuleObserver {
 public:
  LoggingObserver(Log& log, ModuleObserver* inner) : log_(log), inner_(inner) {}
  void before_forward(Module& module) override {
    log_.push_back("forward " + module.name());
    if (inner_) inner_->before_forward(module);
  }
  void after_backward(Module& module) override {
    log_.push_back("backward " + module.name());
    if (inner_) inner_->after_backward(module);
  }

 private:
  Log& log_;
  ModuleObserver* inner_;
};

Recipe overlap_recipe() {
  Recipe r = test::tiny_gpt_recipe();
  r.parallel.overlap_grad_reduce = true;
  r.parallel.overlap_param_gather = true;
  r.parallel.use_distributed_optimizer = true;
  return r;
}

ParamLayoutOptions small_buckets() {
  ParamLayoutOptions options;
  options.bucket_elems = 700;  // several buckets for a ~6k-parameter model
  options.data_parallel_size = 2;
  return options;
}

struct Replica {
  std::unique_ptr<Model> model;
  std::unique_ptr<ParamBuffers> buffers;
  explicit Replica(const Recipe& recipe, DType dtype = DType::kF32)
      : model(ModelRegistry::instance().create("gpt", recipe, kPadded)),
        buffers(std::make_unique<ParamBuffers>(model->parameters(), Device::cpu(), small_buckets(),
                                               dtype)) {
    for (Parameter* p : buffers->parameters()) initialize_parameter(*p, 1234);
    buffers->sync_model_params();
  }
  test::LmLoss run(int64_t micro_batch, ModuleObserver* observer, bool backward) {
    MicroBatchContext ctx(true, 1234, 0, static_cast<uint64_t>(micro_batch));
    ctx.set_observer(observer);
    const test::LmLoss sums = test::lm_forward(
        *model, test::RandomLmBatch{kT, kVocab}.rows(100 + micro_batch, 0, kB), ctx);
    if (backward) test::lm_backward(*model, 1.0 / (sums.num_tokens * 2.0), ctx);
    return sums;
  }
};

// Every bucket's second half (rank 1's shard) set to its first half, as the gather leaves it;
// then the second halves zeroed (stale until gathered) when `stale`.
void mirror_halves(ParamBuffers& buffers, bool stale) {
  for (const auto& [begin, end] : buffers.layout().buckets) {
    const int64_t half = (end - begin) / 2;
    Tensor second = buffers.params().view(begin + half, {half});
    if (stale) {
      second.zero_();
    } else {
      second.copy_from(buffers.params().view(begin, {half}));
    }
  }
}

int64_t position(const Log& log, const std::string& entry) {
  const auto it = std::find(log.begin(), log.end(), entry);
  REQUIRE_MESSAGE(it != log.end(), entry);
  return it - log.begin();
}

}  // namespace

TEST_CASE("overlap_grad_reduce starts the first bucket before backward reaches the first layer") {
  Recipe recipe = overlap_recipe();
  SUBCASE("layer by layer") {}
  SUBCASE("under full recompute of one layer at a time") {
    recipe.train.recompute_granularity = "full";
    recipe.train.recompute_method = "uniform";
    recipe.train.recompute_num_layers = 1;
  }
  Replica reference(recipe);
  reference.run(0, nullptr, true);
  reference.run(1, nullptr, true);
  const std::vector<float> want = reference.buffers->grads().to_vector<float>();

  Replica replica(recipe);
  const ParamLayout& layout = replica.buffers->layout();
  const int64_t buckets = static_cast<int64_t>(layout.buckets.size());
  REQUIRE(buckets >= 4);
  Log log;
  MirrorCommunicator comm(log, replica.buffers->grads().data<float>());
  int64_t stale = 0;
  comm.on_start = [&](int64_t offset, int64_t count) {
    const float* grads = replica.buffers->grads().data<float>();
    for (int64_t i = offset; i < offset + count; ++i) stale += grads[i] == want[i] ? 0 : 1;
  };
  GradReducer reducer(*replica.buffers, comm, OptimizerShard{});
  DataParallelOverlap overlap(recipe, reducer, *replica.buffers, comm, OptimizerShard{});

  CHECK(overlap.observer(0, 2) == nullptr);  // no parameter gather at dp-sharding 1
  replica.run(0, overlap.observer(0, 2), true);
  CHECK(log.empty());  // an earlier micro-batch only accumulates
  LoggingObserver logger(log, overlap.observer(1, 2));
  replica.run(1, &logger, true);

  CHECK(stale == 0);  // every bucket started holding its final gradients
  CHECK(position(log, "start 0") < position(log, "backward decoder.layers.0"));
  CHECK(position(log, "start 0") > position(log, "backward decoder.layers.1"));
  const int64_t last_offset = layout.buckets.back().first;
  CHECK(position(log, fmt::format("start {}", last_offset)) > position(log, "backward embedding"));
  const auto starts = std::count_if(log.begin(), log.end(),
                                    [](const std::string& e) { return e.rfind("start", 0) == 0; });
  CHECK(starts == buckets);  // every parameter's module reported: all started during backward
  CHECK(std::none_of(log.begin(), log.end(),
                     [](const std::string& e) { return e.rfind("wait", 0) == 0; }));
  reducer.finish();
  CHECK(reducer.buckets_reduced() == buckets);
  const std::vector<float> got = replica.buffers->grads().to_vector<float>();
  int64_t wrong = 0;
  for (size_t i = 0; i < got.size(); ++i) wrong += got[i] == 2 * want[i] ? 0 : 1;
  CHECK(wrong == 0);
}

TEST_CASE("a held-back bucket and the reduce-scatter shards wait for finish") {
  const Recipe recipe = overlap_recipe();
  Replica reference(recipe);
  reference.run(0, nullptr, true);
  const std::vector<float> want = reference.buffers->grads().to_vector<float>();

  Replica replica(recipe);
  const ParamLayout& layout = replica.buffers->layout();
  Log log;
  MirrorCommunicator comm(log, replica.buffers->grads().data<float>());
  const OptimizerShard shard{0, 2};
  GradReducer reducer(*replica.buffers, comm, shard);
  // The word table as a tied copy (pipeline parallelism): its bucket waits for finish().
  replica.buffers->find("embedding.word_embeddings.weight")->tied = {"word_embeddings", true};
  DataParallelOverlap overlap(recipe, reducer, *replica.buffers, comm, shard);
  const int64_t held = replica.buffers->slot("embedding.word_embeddings.weight")->bucket;
  const std::string held_start = fmt::format("start {}", layout.buckets[held].first);
  replica.run(0, overlap.observer(0, 1), true);
  CHECK(std::find(log.begin(), log.end(), held_start) == log.end());
  CHECK(log.size() == layout.buckets.size() - 1);
  reducer.finish();
  CHECK(log.back() == fmt::format("wait {}", layout.buckets.back().first));
  const std::vector<float> got = replica.buffers->grads().to_vector<float>();
  int64_t wrong = 0;
  for (size_t b = 0; b < layout.buckets.size(); ++b) {
    const auto [begin, end] = layout.buckets[b];
    const auto [own_begin, own_end] = bucket_shard(layout, static_cast<int64_t>(b), shard);
    for (int64_t i = begin; i < end; ++i) {
      const bool mine = i >= own_begin && i < own_end;
      wrong += got[i] == (mine ? 2 * want[i] : 0.0f) ? 0 : 1;
    }
  }
  CHECK(wrong == 0);
}

TEST_CASE("overlap_param_gather waits for each bucket just before its first module") {
  const Recipe recipe = overlap_recipe();
  Replica replica(recipe);
  const ParamLayout& layout = replica.buffers->layout();
  mirror_halves(*replica.buffers, false);
  const std::vector<float> main = replica.buffers->params().to_vector<float>();
  mirror_halves(*replica.buffers, true);
  Log log;
  MirrorCommunicator comm(log, replica.buffers->params().data<float>());
  const OptimizerShard shard{0, 2};
  GradReducer reducer(*replica.buffers, comm, shard);
  DataParallelOverlap overlap(recipe, reducer, *replica.buffers, comm, shard);
  overlap.after_step();
  Log expected;
  for (auto it = layout.buckets.rbegin(); it != layout.buckets.rend(); ++it) {
    expected.push_back(fmt::format("start {}", it->first));
  }
  CHECK(log == expected);  // last bucket (the embedding's) first, nothing waited yet
  log.clear();

  LoggingObserver logger(log, overlap.observer(0, 2));
  const test::LmLoss overlapped = replica.run(0, &logger, false);
  const std::string first_wait = fmt::format("wait {}", layout.buckets.back().first);
  CHECK(position(log, first_wait) == position(log, "forward embedding") + 1);
  CHECK(position(log, "wait 0") > position(log, "forward decoder.layers.1"));
  CHECK(position(log, "wait 0") < position(log, "forward decoder.final_layernorm"));
  CHECK(replica.buffers->params().to_vector<float>() == main);  // every bucket gathered

  const test::LmLoss plain = replica.run(0, nullptr, false);
  CHECK(overlapped.loss_sum == plain.loss_sum);
}

TEST_CASE("the parameter gather leaves the buffer as the optimizer step did until waited on") {
  Replica replica(overlap_recipe());
  Tensor& params = replica.buffers->params();
  scale(params, 3.0);  // the step updated rank 0's halves; rank 1's arrive with the gather
  mirror_halves(*replica.buffers, false);
  const std::vector<float> stepped = params.to_vector<float>();
  mirror_halves(*replica.buffers, true);
  const std::vector<float> stale = params.to_vector<float>();
  Log log;
  MirrorCommunicator comm(log, params.data<float>());
  ParamGatherer gatherer(*replica.buffers, comm, OptimizerShard{0, 2});
  gatherer.start();
  CHECK(gatherer.in_flight());
  CHECK(params.to_vector<float>() == stale);
  CHECK_THROWS_WITH(gatherer.start(), doctest::Contains("still in flight"));
  gatherer.wait_all();
  CHECK_FALSE(gatherer.in_flight());
  CHECK(params.to_vector<float>() == stepped);
  CHECK(log.size() == 2 * replica.buffers->layout().buckets.size());
  gatherer.wait_all();  // nothing left: no second wait
  CHECK(log.size() == 2 * replica.buffers->layout().buckets.size());
}
