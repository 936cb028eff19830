// Peak memory per pipeline stage. The parameter side is exact: the stage's model is constructed
// (declarations only) under the trainer's tensor-parallel and pipeline scopes and laid out by
// ParamLayout::plan with the trainer's options, alignment and bucket padding included. The
// activation side walks the rank's real schedule (pipeline_order, pipeline_exchanges) with the
// per-token bytes of engine/plan/activation_bytes.h: each forward adds what its chunk keeps, each
// backward peaks at what is held plus its transient buffers, then releases its chunk.
#include "engine/plan/memory_plan.h"

#include <algorithm>

#include "engine/models/model.h"
#include "engine/models/transformer_config.h"
#include "engine/nn/recompute.h"
#include "engine/nn/tensor_parallel.h"
#include "engine/optim/optimizer_shard.h"
#include "engine/optim/param_layout.h"
#include "engine/distributed/grad_reducer.h"
#include "engine/parallel/pipeline_layout.h"
#include "engine/distributed/pipeline_order.h"
#include "engine/distributed/pipeline_transfers.h"
#include "engine/parallel/topology.h"
#include "engine/plan/activation_bytes.h"
#include "engine/recipe/sequence_parallel_rules.h"

namespace me {
namespace {

// Elements of the stage's flat parameter buffer and of this rank's optimizer-state shard.
struct BufferElems {
  double params = 0;
  double state = 0;
};

BufferElems stage_buffers(const Recipe& recipe, const PipelineStage& stage,
                          int64_t padded_vocab_size) {
  const TensorParallel tp{0, recipe.parallel.tensor_model_parallel_size, nullptr, nullptr,
                          sequence_parallel_enabled(recipe, false)};
  TensorParallelScope tp_scope(tp);
  PipelineStageScope stage_scope(stage);
  const auto model = ModelRegistry::instance().create(recipe.model.type, recipe, padded_vocab_size);
  const Topology topology = Topology::build(recipe, recipe.derived.world_size, 0);
  const ParamLayout layout =
      ParamLayout::plan(model->parameters(), data_parallel_layout_options(recipe, topology));
  const int64_t shard = recipe.parallel.use_distributed_optimizer ? topology.dp : 1;
  return {static_cast<double>(layout.total_elems),
          static_cast<double>(shard_elems(layout, OptimizerShard{0, shard}))};
}

// One chunk's bytes per micro-batch: what its forward keeps, and the most its backward adds.
struct ChunkBytes {
  double kept = 0;
  double backward = 0;
};

ChunkBytes chunk_bytes(const Recipe& recipe, const TokenBytes& b, const PipelineStage& stage,
                       int64_t chunk) {
  const double tokens =
      static_cast<double>(recipe.train.micro_batch_size * recipe.model.seq_length);
  const bool embeds = stage.holds_embedding(chunk);
  const bool loss = stage.holds_loss(chunk);
  const double kept_layer = kept_layer_bytes(recipe, b);
  const auto groups = recompute_chunks(
      full_recompute(recipe), static_cast<size_t>(stage.chunks[static_cast<size_t>(chunk)].size()));
  std::vector<double> kept, full;  // per recompute group
  for (const RecomputeChunk& g : groups) {
    const double layers = static_cast<double>(g.end - g.begin);
    kept.push_back(g.recompute ? b.checkpoint : layers * kept_layer);
    full.push_back(g.recompute ? layers * b.layer_full : layers * kept_layer);
  }
  double extras = 0;
  if (stage.size == 1) {  // one rank: the batch lives through forward and backward
    extras = b.batch + b.head + (recipe.parallel.tensor_model_parallel_size > 1 ? b.embedding : 0);
  } else {
    extras = b.positions + (embeds ? b.embedding : 0) + (loss ? b.head + b.labels : 0);
  }
  ChunkBytes out;
  double later = 0;  // groups after g, already released when g's backward runs
  double layer_peak = 0;
  for (size_t g = groups.size(); g-- > 0;) {
    layer_peak = std::max(layer_peak, full[g] - kept[g] - later + b.layer_backward);
    later += kept[g];
  }
  out.kept = tokens * (later + extras);
  // Once the layers' backward runs, the head's buffers are gone.
  out.backward = tokens * std::max(loss ? b.head_backward : 0.0, layer_peak - (loss ? b.head : 0));
  return out;
}

// The activations held and the transient bytes at the rank's busiest moment. Besides the chunks'
// own bytes, a pipeline rank holds hidden states (or gradients) it received before the action
// that takes them, and outputs it computed before the exchange that sends them
// (engine/distributed/pipeline_transfers.h: one exchange per warm-up, steady or cool-down step).
std::pair<double, double> schedule_peak(const Recipe& recipe, const PipelineStage& stage,
                                        int64_t padded_vocab_size) {
  const TokenBytes b = token_bytes(recipe, padded_vocab_size);
  std::vector<ChunkBytes> chunks;
  for (size_t c = 0; c < stage.chunks.size(); ++c) {
    chunks.push_back(chunk_bytes(recipe, b, stage, static_cast<int64_t>(c)));
  }
  const int64_t vpp = static_cast<int64_t>(stage.chunks.size());
  const int64_t m = recipe.derived.num_microbatches;
  const auto order = pipeline_order(stage.size, stage.rank, vpp, m, false);
  const auto exchanges = pipeline_exchanges(order, stage.size, stage.rank, vpp, m, false,
                                            ChunkTensors::uniform(vpp, 1));
  const double message =
      static_cast<double>(recipe.train.micro_batch_size * recipe.model.seq_length) * b.hidden;
  std::vector<bool> received(order.size(), false), sent(order.size(), false);
  for (const PipelineExchange& x : exchanges) {
    for (const PipelineMessage& msg : x.sends) sent[msg.action] = true;
  }
  auto next = exchanges.begin();
  double held = 0, in_transit = 0;  // chunks' kept bytes; received inputs and unsent outputs
  std::pair<double, double> peak{0, 0};
  auto note = [&](double activations, double transient) {
    if (activations + transient > peak.first + peak.second) peak = {activations, transient};
  };
  for (size_t i = 0; i < order.size(); ++i) {
    if (next != exchanges.end() && next->before_action == i) {
      in_transit += message * static_cast<double>(next->receives.size());
      for (const PipelineMessage& msg : next->receives) received[msg.action] = true;
      note(held, in_transit);
      in_transit -= message * static_cast<double>(next->sends.size());
      ++next;
    }
    const ChunkBytes& c = chunks[static_cast<size_t>(order[i].chunk)];
    // A received input is the first layer's saved input (forward) or the incoming gradient of
    // the chunk's backward transient: counted there from here on.
    if (received[i]) in_transit -= message;
    if (order[i].forward()) {
      held += c.kept;
      if (sent[i]) in_transit += message;
      note(held, in_transit);
    } else {
      note(held, in_transit + c.backward);
      held -= c.kept;
      if (sent[i]) in_transit += message;
    }
  }
  return peak;
}

Recipe with_full_recompute(Recipe recipe) {
  recipe.train.recompute_granularity = "full";
  recipe.train.recompute_method = "uniform";
  recipe.train.recompute_num_layers = 1;
  return recipe;
}

}  // namespace

MemoryPlan plan_memory(const Recipe& recipe, int64_t padded_vocab_size) {
  const bool half = recipe.mixed_precision.bf16 || recipe.mixed_precision.fp16;
  const double state_per_elem = recipe.optimizer.optimizer == "sgd" ? 4.0 : 8.0;
  const PipelineLayout layout = PipelineLayout::of(recipe);
  const Recipe recomputed = with_full_recompute(recipe);
  MemoryPlan plan;
  for (int64_t rank = 0; rank < layout.pp; ++rank) {
    const PipelineStage stage = PipelineStage::of(layout, rank);
    const BufferElems elems = stage_buffers(recipe, stage, padded_vocab_size);
    RankMemory m;
    m.weights = elems.params * (half ? 6.0 : 4.0);
    m.gradients = elems.params * 4.0;
    m.optimizer = elems.state * state_per_elem;
    const auto [held, transient] = schedule_peak(recipe, stage, padded_vocab_size);
    m.activations = held;
    m.workspace = transient;
    const auto [held_r, transient_r] = schedule_peak(recomputed, stage, padded_vocab_size);
    m.activations_recompute = held_r + transient_r;
    plan.stages.push_back(m);
  }
  const auto busiest = std::max_element(
      plan.stages.begin(), plan.stages.end(),
      [](const RankMemory& a, const RankMemory& b) { return a.total() < b.total(); });
  plan.pipeline_rank = busiest - plan.stages.begin();
  static_cast<RankMemory&>(plan) = *busiest;
  return plan;
}

}  // namespace me
