// Analytic cost of a recipe on its layout. Parameter shapes come from constructing the registered
// model (declarations only: nothing is allocated); sharding follows Megatron's rules: 2-D weights
// split over tensor-parallel ranks, column-parallel biases (qkv, fc1) too, norms and row-parallel
// biases replicated; layers split over pipeline stages as the trainer splits them (even, uneven
// first/last, interleaved chunks), embeddings on the first stage and the output layer (or the tied
// embedding's copy) on the last.
#include "engine/plan/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "engine/models/model.h"
#include "datasets/padded_vocab.h"
#include "engine/parallel/pipeline_layout.h"

namespace me {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_embedding(const Parameter& p) { return p.name.rfind("embedding.", 0) == 0; }

bool tensor_parallel_sharded(const Parameter& p) {
  if (p.name == "embedding.position_embeddings.weight") return false;  // replicated, as Megatron
  if (p.shape.size() == 2) return true;
  return ends_with(p.name, "linear_qkv.bias") || ends_with(p.name, "linear_fc1.bias");
}

// Pipeline stage holding a parameter, or -1 for the last stage.
int64_t pipeline_stage(const Parameter& p, const PipelineLayout& layout) {
  if (is_embedding(p)) return 0;
  const std::string prefix = "decoder.layers.";
  if (p.name.rfind(prefix, 0) != 0) return -1;  // final norm, output layer
  const int64_t layer = std::stoll(p.name.substr(prefix.size()));
  for (int64_t rank = 0; rank < layout.pp; ++rank) {
    for (int64_t chunk = 0; chunk < layout.vpp; ++chunk) {
      const LayerRange range = layout.layers(rank, chunk);
      if (layer >= range.begin && layer < range.end) return rank;
    }
  }
  return -1;
}

bool half_precision(const Recipe& r) { return r.mixed_precision.bf16 || r.mixed_precision.fp16; }

}  // namespace

PlanReport plan_recipe(const Recipe& recipe, int64_t vocab_size) {
  const auto& m = recipe.model;
  const auto& d = recipe.derived;
  const int64_t tp = recipe.parallel.tensor_model_parallel_size;
  const int64_t pp = recipe.parallel.pipeline_model_parallel_size;
  const int64_t dp = d.data_parallel_size;
  PlanReport r;
  r.world_size = d.world_size;
  r.vocab_size = vocab_size;
  r.padded_vocab_size = m.padded_vocab_size.value_or(
      padded_vocab_size(vocab_size, m.make_vocab_size_divisible_by, tp));

  const auto model = ModelRegistry::instance().create(m.type, recipe, r.padded_vocab_size);
  const std::vector<Parameter*> params = model->parameters();
  const PipelineLayout layout = PipelineLayout::of(recipe);
  std::vector<double> stage_params(static_cast<size_t>(pp), 0.0);
  double matrix_params = 0;  // weights every token multiplies through (6 FLOPs each per token)
  for (const Parameter* p : params) {
    const double n = static_cast<double>(p->numel());
    r.parameters += n;
    if (is_embedding(*p))
      r.embedding_parameters += n;
    else if (p->shape.size() == 2)
      matrix_params += n;
    const int64_t stage = pipeline_stage(*p, layout);
    stage_params[static_cast<size_t>(stage < 0 ? pp - 1 : stage)] +=
        tensor_parallel_sharded(*p) ? n / tp : n;
  }
  const double hidden = static_cast<double>(m.hidden_size);
  const double vocab = static_cast<double>(r.padded_vocab_size);
  const bool tied = !m.untie_embeddings_and_output_weights;
  if (tied) matrix_params += hidden * vocab;  // the word embedding doubles as the LM head
  if (tied && pp > 1) stage_params.back() += hidden * vocab / tp;  // last stage's copy
  r.parameters_per_rank = *std::max_element(stage_params.begin(), stage_params.end());

  const double s = static_cast<double>(m.seq_length);
  const double gbs = static_cast<double>(d.global_batch_size);
  r.tokens_per_step = gbs * s;
  const double q_width = static_cast<double>(d.kv_channels * m.num_attention_heads);
  r.flops_per_step = 6.0 * r.tokens_per_step * matrix_params +
                     6.0 * gbs * s * s * q_width * static_cast<double>(m.num_layers);
  r.flops_per_token = r.flops_per_step / r.tokens_per_step;

  r.memory = plan_memory(recipe, r.padded_vocab_size);

  const bool half = half_precision(recipe);
  const double split = static_cast<double>(tp);
  const double act_bytes = half ? 2.0 : 4.0;
  const double mbs_tokens = static_cast<double>(recipe.train.micro_batch_size) * s;
  const double layers = static_cast<double>(layout.layers_on_rank(0));
  const double n_rank = r.parameters_per_rank;

  // Communication per step and rank (bytes sent): ring all-reduce moves 2 (n-1)/n of the buffer.
  const double grad_bytes = n_rank * 4.0;
  if (dp > 1) {
    const double ring = (dp - 1.0) / dp;
    r.communication.data_parallel =
        recipe.parallel.use_distributed_optimizer
            ? ring * grad_bytes + ring * n_rank * (half ? 2.0 : 4.0)  // reduce-scatter + gather
            : 2.0 * ring * grad_bytes;
  }
  const double microbatches = static_cast<double>(d.num_microbatches);
  if (tp > 1) {  // two all-reduces (or gather + scatter) forward and two backward per layer
    r.communication.tensor_parallel =
        4.0 * 2.0 * (split - 1.0) / split * mbs_tokens * hidden * act_bytes * layers * microbatches;
  }
  if (pp > 1) {  // activations forward, their gradients backward, per micro-batch and chunk
    const double chunks = static_cast<double>(layout.vpp);
    r.communication.pipeline_parallel =
        2.0 * mbs_tokens * hidden * act_bytes * microbatches * chunks;
    r.pipeline_bubble = (pp - 1.0) / (chunks * microbatches);  // Megatron: (pp - 1) / (vpp m)
  }
  return r;
}

std::string format_plan(const PlanReport& r, const Recipe& recipe) {
  const auto gib = [](double bytes) { return fmt::format("{:10.3f} GiB", bytes / (1 << 30)); };
  const auto& p = recipe.parallel;
  std::string out;
  out += fmt::format("layout: world {} = tp {} x cp {} x pp {} x dp {}{}\n", r.world_size,
                     p.tensor_model_parallel_size, p.context_parallel_size,
                     p.pipeline_model_parallel_size, recipe.derived.data_parallel_size,
                     p.use_distributed_optimizer ? " (distributed optimizer)" : "");
  out += fmt::format("vocabulary: {} padded to {}\n", r.vocab_size, r.padded_vocab_size);
  out += fmt::format(
      "parameters: {:.4f} B total ({:.4f} B in embeddings), {:.4f} B on the busiest "
      "rank\n",
      r.parameters / 1e9, r.embedding_parameters / 1e9, r.parameters_per_rank / 1e9);
  out += fmt::format(
      "step: {} samples x {} tokens = {:.0f} tokens, {} micro-batches of {} per "
      "data-parallel rank\n",
      recipe.derived.global_batch_size, recipe.model.seq_length, r.tokens_per_step,
      recipe.derived.num_microbatches, recipe.train.micro_batch_size);
  out += fmt::format("compute: {:.4g} FLOPs per step ({:.4g} per token, {:.4g} per rank)\n",
                     r.flops_per_step, r.flops_per_token, r.flops_per_step / r.world_size);
  out +=
      fmt::format("peak memory on the busiest rank (pipeline rank {}):\n", r.memory.pipeline_rank);
  const auto line = [&](const std::string& label, double bytes) {
    out += fmt::format("  {:<26}", label) + gib(bytes) + "\n";
  };
  line(half_precision(recipe) ? "weights (fp32 + 16-bit)" : "weights (fp32)", r.memory.weights);
  line("gradients (fp32)", r.memory.gradients);
  line("optimizer state", r.memory.optimizer);
  line("activations", r.memory.activations);
  line("workspace", r.memory.workspace);
  line("total", r.memory.total());
  line("full recompute instead", r.memory.activations_recompute);
  out += "    (activations + workspace)\n";
  if (r.memory.stages.size() > 1) {
    for (size_t rank = 0; rank < r.memory.stages.size(); ++rank) {
      line(fmt::format("total on pipeline rank {}", rank), r.memory.stages[rank].total());
    }
  }
  out += "communication per step and rank:\n";
  line("data parallel", r.communication.data_parallel);
  line("tensor parallel", r.communication.tensor_parallel);
  line("pipeline parallel", r.communication.pipeline_parallel);
  out += fmt::format("pipeline bubble: {:.1f} % of a 1F1B step\n", 100.0 * r.pipeline_bubble);
  return out;
}

}  // namespace me
