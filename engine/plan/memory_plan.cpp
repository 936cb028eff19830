// Peak memory per pipeline stage. Each stage's model is built as the trainer builds it
// (engine/plan/stage_model.h). The parameter side is exact: ParamLayout::plan with the trainer's
// options, alignment and bucket padding included. The activation side walks the rank's real
// schedule (pipeline_order, pipeline_exchanges) with what the model's chunks report per token
// (Model::chunk_cost, summed from the modules): each forward adds what its chunk keeps, each
// backward peaks at what is held plus its transient buffers, then releases its chunk; the tensors
// crossing stage boundaries are sized by the model's chunk_inputs / chunk_outputs specs.
#include "engine/plan/memory_plan.h"

#include <algorithm>

#include "engine/optim/optimizer_shard.h"
#include "engine/optim/param_layout.h"
#include "engine/distributed/grad_reducer.h"
#include "engine/distributed/pipeline_order.h"
#include "engine/distributed/pipeline_transfers.h"
#include "engine/parallel/topology.h"
#include "engine/plan/stage_model.h"

namespace me {
namespace {

// Elements of the stage's flat parameter buffer and of this rank's optimizer-state shard.
struct BufferElems {
  double params = 0;
  double state = 0;
};

BufferElems stage_buffers(const Recipe& recipe, Model& model) {
  const Topology topology = Topology::build(recipe, recipe.derived.world_size, 0);
  const ParamLayout layout =
      ParamLayout::plan(model.parameters(), data_parallel_layout_options(recipe, topology));
  const int64_t shard = recipe.parallel.use_distributed_optimizer ? topology.dp : 1;
  return {static_cast<double>(layout.total_elems),
          static_cast<double>(shard_elems(layout, OptimizerShard{0, shard}))};
}

// One chunk's bytes per micro-batch: what its forward keeps, and the most its backward adds.
struct ChunkBytes {
  double kept = 0;
  double backward = 0;
};

// One rank without a pipeline keeps the whole batch through forward and backward; a pipeline
// stage drops it after the forward, but for what the chunk's context still references.
std::vector<ChunkBytes> chunk_bytes(const Recipe& recipe, const Model& model,
                                    const PipelineStage& stage) {
  const double seq = static_cast<double>(recipe.model.seq_length);
  const double tokens = static_cast<double>(recipe.train.micro_batch_size) * seq;
  double batch = 0;
  for (const TensorSpec& spec : model.inputs())
    batch += static_cast<double>(spec_bytes(spec)) / seq;
  const CostQuery query = cost_query(recipe);
  std::vector<ChunkBytes> out;
  for (int64_t c = 0; c < model.num_chunks(); ++c) {
    const ChunkCost cost = model.chunk_cost(c, query);
    out.push_back({tokens * (cost.modules.saved + (stage.size == 1 ? batch : cost.batch)),
                   tokens * cost.modules.backward});
  }
  return out;
}

// Bytes of one message: the spec of the tensor it carries. A forward receives its chunk's
// chunk_inputs and sends its chunk_outputs; a backward receives the outputs' gradients and sends
// the inputs'.
double message_bytes(const Model& model, const std::vector<PipelineAction>& order,
                     const PipelineMessage& m, bool sending) {
  const PipelineAction& a = order[m.action];
  const auto specs =
      a.forward() == sending ? model.chunk_outputs(a.chunk) : model.chunk_inputs(a.chunk);
  return static_cast<double>(spec_bytes(specs.at(static_cast<size_t>(m.tensor))));
}

// The activations held and the transient bytes at the rank's busiest moment. Besides the chunks'
// own bytes, a pipeline rank holds tensors it received before the action that takes them, and
// outputs it computed before the exchange that sends them (engine/distributed/pipeline_transfers.h:
// one exchange per warm-up, steady or cool-down step).
std::pair<double, double> schedule_peak(const Recipe& recipe, const Model& model,
                                        const PipelineStage& stage) {
  const std::vector<ChunkBytes> chunks = chunk_bytes(recipe, model, stage);
  const int64_t vpp = model.num_chunks();
  const int64_t m = recipe.derived.num_microbatches;
  ChunkTensors tensors;
  for (int64_t c = 0; c < vpp; ++c) {
    tensors.inputs.push_back(static_cast<int64_t>(model.chunk_inputs(c).size()));
    tensors.outputs.push_back(static_cast<int64_t>(model.chunk_outputs(c).size()));
  }
  const auto order = pipeline_order(stage.size, stage.rank, vpp, m, false);
  const auto exchanges = pipeline_exchanges(order, stage.size, stage.rank, vpp, m, false, tensors);
  std::vector<double> received(order.size(), 0.0), sent(order.size(), 0.0);  // by action
  for (const PipelineExchange& x : exchanges) {
    for (const PipelineMessage& msg : x.receives) {
      received[msg.action] += message_bytes(model, order, msg, false);
    }
    for (const PipelineMessage& msg : x.sends)
      sent[msg.action] += message_bytes(model, order, msg, true);
  }
  auto next = exchanges.begin();
  double held = 0, in_transit = 0;  // chunks' kept bytes; received inputs and unsent outputs
  std::pair<double, double> peak{0, 0};
  auto note = [&](double activations, double transient) {
    if (activations + transient > peak.first + peak.second) peak = {activations, transient};
  };
  for (size_t i = 0; i < order.size(); ++i) {
    if (next != exchanges.end() && next->before_action == i) {
      for (const PipelineMessage& msg : next->receives) {
        in_transit += message_bytes(model, order, msg, false);
      }
      note(held, in_transit);
      for (const PipelineMessage& msg : next->sends) {
        in_transit -= message_bytes(model, order, msg, true);
      }
      ++next;
    }
    const ChunkBytes& c = chunks[static_cast<size_t>(order[i].chunk)];
    // A received input is the chunk's saved input (forward) or the incoming gradient of its
    // backward transient: counted there from here on.
    in_transit -= received[i];
    if (order[i].forward()) {
      held += c.kept;
      in_transit += sent[i];
      note(held, in_transit);
    } else {
      note(held, in_transit + c.backward);
      held -= c.kept;
      in_transit += sent[i];
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
  const int64_t tp = recipe.parallel.tensor_model_parallel_size;
  const PipelineLayout layout = PipelineLayout::of(recipe);
  const Recipe recomputed = with_full_recompute(recipe);
  MemoryPlan plan;
  for (int64_t rank = 0; rank < layout.pp; ++rank) {
    const PipelineStage stage = PipelineStage::of(layout, rank);
    const auto model = build_stage_model(recipe, stage, tp, padded_vocab_size);
    const BufferElems elems = stage_buffers(recipe, *model);
    RankMemory m;
    m.weights = elems.params * (half ? 6.0 : 4.0);
    m.gradients = elems.params * 4.0;
    m.optimizer = elems.state * state_per_elem;
    const auto [held, transient] = schedule_peak(recipe, *model, stage);
    m.activations = held;
    m.workspace = transient;
    const auto recomputed_model = build_stage_model(recomputed, stage, tp, padded_vocab_size);
    const auto [held_r, transient_r] = schedule_peak(recomputed, *recomputed_model, stage);
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
