// Analytic cost of a recipe on its layout, read off the registered model's modules: parameters
// from the shapes they declare (the whole model for totals; each pipeline stage's model, built
// under the trainer's tensor-parallel and pipeline scopes, for what a rank holds), FLOPs and
// tensor-parallel traffic from their cost reports (Model::chunk_cost), pipeline traffic from the
// tensors their chunks exchange (chunk_inputs / chunk_outputs), memory from
// engine/plan/memory_plan.
#include "engine/plan/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "engine/models/model.h"
#include "datasets/padded_vocab.h"
#include "engine/models/word_embedding_copy.h"
#include "engine/nn/embedding.h"
#include "engine/parallel/pipeline_layout.h"
#include "engine/plan/stage_model.h"

namespace me {
namespace {

double count(const std::vector<const Parameter*>& params) {
  double n = 0;
  for (const Parameter* p : params) n += static_cast<double>(p->numel());
  return n;
}

// Parameters of the input embeddings and of a last stage's tied copy of the word table, wherever
// they sit in the module tree.
double embedding_parameters(const Module& module) {
  if (dynamic_cast<const LanguageModelEmbedding*>(&module) ||
      dynamic_cast<const WordEmbeddingCopy*>(&module)) {
    return count(module.parameters());
  }
  double n = 0;
  for (const Module* child : module.children()) n += embedding_parameters(*child);
  return n;
}

double chunk_specs_bytes(const std::vector<TensorSpec>& specs) {
  double bytes = 0;
  for (const TensorSpec& spec : specs) bytes += static_cast<double>(spec_bytes(spec));
  return bytes;
}

// What one pipeline rank holds and sends per step.
struct StageFigures {
  double parameters = 0;
  double tensor_parallel_bytes = 0;
  double pipeline_bytes = 0;
};

StageFigures stage_figures(const Recipe& recipe, const PipelineStage& stage,
                           int64_t padded_vocab_size) {
  const auto model = build_stage_model(recipe, stage, recipe.parallel.tensor_model_parallel_size,
                                       padded_vocab_size);
  const CostQuery query = cost_query(recipe);
  const double microbatches = static_cast<double>(recipe.derived.num_microbatches);
  const double tokens =
      static_cast<double>(recipe.train.micro_batch_size * recipe.model.seq_length);
  StageFigures f;
  f.parameters = count(std::as_const(*model).parameters());
  for (int64_t c = 0; c < model->num_chunks(); ++c) {
    f.tensor_parallel_bytes +=
        model->chunk_cost(c, query).modules.tensor_parallel_bytes * tokens * microbatches;
    // Forward sends the outputs, backward the inputs' gradients.
    f.pipeline_bytes +=
        (chunk_specs_bytes(model->chunk_outputs(c)) + chunk_specs_bytes(model->chunk_inputs(c))) *
        microbatches;
  }
  return f;
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

  // The whole model on one rank: every layer, nothing sharded.
  const auto whole =
      build_stage_model(recipe, PipelineStage::whole(m.num_layers), 1, r.padded_vocab_size);
  r.parameters = count(std::as_const(*whole).parameters());
  r.embedding_parameters = embedding_parameters(*whole);
  const CostQuery query = cost_query(recipe);
  for (int64_t c = 0; c < whole->num_chunks(); ++c) {
    r.flops_per_token += whole->chunk_cost(c, query).modules.flops;
  }
  const double s = static_cast<double>(m.seq_length);
  r.tokens_per_step = static_cast<double>(d.global_batch_size) * s;
  r.flops_per_step = r.flops_per_token * r.tokens_per_step;

  const PipelineLayout layout = PipelineLayout::of(recipe);
  for (int64_t rank = 0; rank < pp; ++rank) {
    const StageFigures f =
        stage_figures(recipe, PipelineStage::of(layout, rank), r.padded_vocab_size);
    r.parameters_per_rank = std::max(r.parameters_per_rank, f.parameters);
    r.communication.tensor_parallel =
        std::max(r.communication.tensor_parallel, f.tensor_parallel_bytes);
    r.communication.pipeline_parallel =
        std::max(r.communication.pipeline_parallel, f.pipeline_bytes);
  }
  r.memory = plan_memory(recipe, r.padded_vocab_size);

  // Data parallel per step and rank (bytes sent): ring all-reduce moves 2 (n-1)/n of the buffer.
  const bool half = half_precision(recipe);
  const double n_rank = r.parameters_per_rank;
  const double grad_bytes = n_rank * 4.0;
  if (dp > 1) {
    const double ring = (dp - 1.0) / dp;
    r.communication.data_parallel =
        recipe.parallel.use_distributed_optimizer
            ? ring * grad_bytes + ring * n_rank * (half ? 2.0 : 4.0)  // reduce-scatter + gather
            : 2.0 * ring * grad_bytes;
  }
  if (pp > 1) {  // Megatron: (pp - 1) / (vpp m)
    r.pipeline_bubble =
        (pp - 1.0) / (static_cast<double>(layout.vpp) * static_cast<double>(d.num_microbatches));
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
