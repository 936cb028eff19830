// Two parameter groups on 4 MPI ranks: a dense group reduced over all 4 ranks and an "expert"
// group reduced over pairs {0, 1} and {2, 3} (each pair holds another expert, as under expert
// parallelism). Gradients set by hand on every rank; each reduced gradient, the global gradient
// norm (dense once, each expert once), the clipped SGD step and a checkpoint round trip (each
// group written by its own data-parallel rank 0) are checked against values computed here by
// hand, with and without the distributed optimizer.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <deque>
#include <filesystem>
#include <set>
#include <string>

#include "engine/optim/optimizer_shard.h"
#include "engine/train/param_groups.h"
#include "tests/support/mpi_launch.h"
#include "tests/support/process.h"

namespace me {
namespace {

constexpr double kLr = 0.1, kWd = 0.01, kClip = 1.0;
constexpr int64_t kRanks = 4;

// What the groups read: the optimizer, the distributed optimizer, bucket sizes (one bucket).
Recipe two_group_recipe(bool distributed) {
  const std::string yaml = std::string(R"(
model:
  type: gpt
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
  optimizer: sgd
  sgd_momentum: 0.0
  lr: 0.1
parallel:
  use_distributed_optimizer: )") +
                           (distributed ? "true" : "false") + "\n";
  return parse_recipe(yaml, "<test>", kRanks);
}

// Rank r's gradient of element i of a parameter: distinct per rank, element and parameter.
double rank_grad(int64_t rank, int64_t i, double scale) {
  return scale * (static_cast<double>(rank) + 1.0) * (0.5 + static_cast<double>(i) * 0.25);
}
double initial_value(int64_t i, double offset) { return offset + 0.01 * static_cast<double>(i); }

// The parameters of one rank: dense.weight (3, 4), dense.norm (5) without weight decay, and
// experts.{pair}.weight (2, 3) of the "expert" group.
struct Model {
  std::deque<Parameter> params;
  int64_t pair;
  explicit Model(int64_t rank) : pair(rank / 2) {
    params.push_back({"dense.weight", {3, 4}, ParamInit::zeros(), true});
    params.push_back({"dense.norm", {5}, ParamInit::zeros(), false});
    Parameter& expert = params.emplace_back();
    expert.name = fmt::format("experts.{}.weight", pair);
    expert.shape = {2, 3};
    expert.expert = pair;
    expert.group = "expert";
  }
  std::vector<Parameter*> all() {
    std::vector<Parameter*> out;
    for (Parameter& p : params) out.push_back(&p);
    return out;
  }
};

// Per parameter of `model`: a gradient scale, an initial-value offset, and which ranks share it.
double grad_scale(const Parameter& p) { return p.group == "expert" ? 0.3 : p.numel() * 0.1; }
double value_offset(const Parameter& p, int64_t pair) {
  return p.group == "expert" ? 0.2 + 0.1 * static_cast<double>(pair)
                             : (p.numel() == 5 ? 1.0 : -0.5);
}
std::vector<int64_t> replicas(const Parameter& p, int64_t pair) {
  if (p.group == "expert") return {2 * pair, 2 * pair + 1};
  return {0, 1, 2, 3};
}

// The reduced gradient of element i: the sum over the replicas, by the global data-parallel size.
double reduced_grad(const Parameter& p, int64_t pair, int64_t i) {
  double sum = 0.0;
  for (int64_t r : replicas(p, pair)) sum += rank_grad(r, i, grad_scale(p));
  return sum / static_cast<double>(kRanks);
}

// The global norm: the dense parameters once and each pair's expert once.
double reference_norm() {
  double squares = 0.0;
  for (int64_t rank : {0, 2}) {  // one rank of each pair sees every parameter between them
    Model m(rank);
    for (const Parameter& p : m.params) {
      if (rank == 2 && p.group != "expert") continue;
      for (int64_t i = 0; i < p.numel(); ++i) squares += std::pow(reduced_grad(p, m.pair, i), 2);
    }
  }
  return std::sqrt(squares);
}

ParamGroupComms comms_for(const std::string& group, Communicator& world, Communicator& pair,
                          Communicator& across_pairs) {
  if (group == "expert") return {&pair, &pair, &across_pairs};
  return {&world, &world, nullptr};
}

void set_values_and_grads(Model& m, int64_t rank) {
  for (Parameter& p : m.params) {
    float* v = p.main.data<float>();
    float* g = p.grad.data<float>();
    for (int64_t i = 0; i < p.numel(); ++i) {
      v[i] = static_cast<float>(initial_value(i, value_offset(p, m.pair)));
      g[i] = static_cast<float>(rank_grad(rank, i, grad_scale(p)));
    }
  }
}

bool close(double got, double want) { return std::abs(got - want) <= 1e-6 + 1e-5 * std::abs(want); }

void check_two_groups(Communicator& world_comm, bool distributed) {
  CAPTURE(distributed);
  Communicator* world = &world_comm;
  const int64_t rank = world->rank();
  auto pair = world->split(rank / 2, rank);
  auto across_pairs = world->split(rank % 2, rank);
  const Recipe recipe = two_group_recipe(distributed);

  Model model(rank);
  ParamGroups groups(model.all(), recipe, Device::cpu(), [&](const std::string& g) {
    return comms_for(g, *world, *pair, *across_pairs);
  });
  REQUIRE(groups.groups().size() == 2);
  CHECK(groups.groups()[0]->name() == "dense");
  CHECK(groups.groups()[1]->name() == "expert");
  CHECK(groups.groups()[1]->buffers().parameters().size() == 1);
  CHECK(groups.groups()[0]->optimizer().shard().size == (distributed ? 4 : 1));
  CHECK(groups.groups()[1]->optimizer().shard().size == (distributed ? 2 : 1));
  set_values_and_grads(model, rank);

  SelfCommunicator one_stage;
  groups.reduce({}, TensorParallel{});
  groups.scale(1.0 / static_cast<double>(kRanks));
  for (const auto& group : groups.groups()) {
    const ParamLayout& layout = group->buffers().layout();
    const OptimizerShard shard = group->optimizer().shard();
    for (const ParamSlot& slot : layout.slots) {
      const Parameter& p = *slot.param;
      CAPTURE(p.name);
      const auto [own_begin, own_end] = bucket_shard(layout, slot.bucket, shard);
      const std::vector<float> g = p.grad.to_vector<float>();
      int64_t wrong = 0, owned = 0;
      for (int64_t i = 0; i < p.numel(); ++i) {
        // Under the distributed optimizer a rank holds the reduced sum on its shard only.
        const bool mine = slot.offset + i >= own_begin && slot.offset + i < own_end;
        owned += mine;
        wrong += mine ? !close(g[i], reduced_grad(p, model.pair, i)) : g[i] != 0.0f;
      }
      CHECK(wrong == 0);
      if (!distributed) CHECK(owned == p.numel());
    }
  }

  const double norm = groups.grad_norm(TensorParallel{}, one_stage);
  const double want_norm = reference_norm();
  CHECK(norm == doctest::Approx(want_norm).epsilon(1e-6));
  const double coeff = kClip / (want_norm + 1e-6);
  REQUIRE(coeff < 1.0);  // the step below is clipped by the norm over both groups
  CHECK(groups.all_finite(one_stage));
  groups.clip(kClip, norm);
  groups.step(kLr, kWd);
  for (const Parameter& p : model.params) {
    CAPTURE(p.name);
    const std::vector<float> v = p.main.to_vector<float>();
    int64_t wrong = 0;
    for (int64_t i = 0; i < p.numel(); ++i) {
      const double before = initial_value(i, value_offset(p, model.pair));
      const double wd = p.weight_decay ? kWd : 0.0;
      const double want = before - kLr * (coeff * reduced_grad(p, model.pair, i) + wd * before);
      wrong += !close(v[i], want);
    }
    CHECK(wrong == 0);  // every element on every rank: the shards were gathered
  }

  // A checkpoint: the dense weights from world rank 0, each expert from its pair's rank 0.
  std::string root;
  std::unique_ptr<testing::TempDir> dir;
  if (rank == 0) {
    dir = std::make_unique<testing::TempDir>();
    root = dir->path().string();
  }
  int64_t length = static_cast<int64_t>(root.size());
  world->broadcast(&length, sizeof(length), 0);
  root.resize(static_cast<size_t>(length));
  world->broadcast(root.data(), length, 0);
  const Topology topology = Topology::build(recipe, kRanks, rank);
  TrainingState state;
  state.iteration = 3;
  const std::vector<CheckpointGroup> saved = groups.checkpoint_groups(true);
  CHECK(saved[1].data_parallel_rank == rank % 2);
  const CheckpointSnapshot snap = snapshot_checkpoint(root, recipe, state, saved, topology, false);
  std::set<std::string> names;
  for (const StoredTensor& t : snap.tensors) names.insert(t.name);
  if (rank == 0) {
    CHECK(snap.shard == "shard_tp00_pp000.h5");
    CHECK(names.count("model/dense.weight") == 1);
    CHECK(names.count("model/experts.0.weight") == 1);
  } else if (rank == 2) {
    CHECK(snap.shard == "shard_tp00_pp000_dp002.h5");  // its pair's expert only
    CHECK(names == std::set<std::string>(
                       distributed
                           ? std::set<std::string>{"model/experts.1.weight"}
                           : std::set<std::string>{"model/experts.1.weight",
                                                   "optimizer/momentum_buffer/experts.1.weight"}));
  } else {
    CHECK(snap.shard.empty());
    CHECK(snap.tensors.empty());
  }
  CHECK(snap.optimizer_shard.empty() == !distributed);
  save_checkpoint(root, recipe, state, saved, topology, *world);

  Model loaded(rank);
  ParamGroups fresh(loaded.all(), recipe, Device::cpu(), [&](const std::string& g) {
    return comms_for(g, *world, *pair, *across_pairs);
  });
  load_checkpoint(read_manifest(root + "/iter_0000003"), fresh.checkpoint_groups(true), topology);
  for (size_t i = 0; i < model.params.size(); ++i) {
    CAPTURE(model.params[i].name);
    CHECK(loaded.params[i].main.to_vector<float>() == model.params[i].main.to_vector<float>());
  }
  for (size_t g = 0; g < 2; ++g) {
    CHECK(fresh.groups()[g]->optimizer().step_count() == 0);  // the manifest's optimizer_steps
    auto want = groups.groups()[g]->optimizer().state_buffers();
    auto got = fresh.groups()[g]->optimizer().state_buffers();
    REQUIRE(got.size() == want.size());
    for (size_t s = 0; s < got.size(); ++s) {
      CHECK(got[s].second->to_vector<float>() == want[s].second->to_vector<float>());
    }
  }
  world->barrier();  // everyone has read before rank 0 removes the directory
}

}  // namespace

TEST_CASE("two parameter groups reduce over their own communicators and norm and step together") {
  if (!launched_by_mpi()) {
    const auto run = testing::run_self_under_mpi(
        4, "two parameter groups reduce over their own communicators and norm and step together");
    REQUIRE_MESSAGE(run.exit_code == 0, run.output);
    return;
  }
  auto world = make_world_communicator();  // one per process: its end finalizes MPI
  world->set_timeout(120);
  REQUIRE(world->size() == kRanks);
  check_two_groups(*world, false);
  check_two_groups(*world, true);
}

}  // namespace me
