// `megatron-engine plan --json`: the plan report as one JSON object for scripts and tests.
#include <nlohmann/json.hpp>

#include "engine/plan/plan.h"

namespace me {
namespace {

nlohmann::json memory_json(const RankMemory& m) {
  return {
      {"weights_bytes", m.weights},     {"gradients_bytes", m.gradients},
      {"optimizer_bytes", m.optimizer}, {"activations_bytes", m.activations},
      {"workspace_bytes", m.workspace}, {"activations_recompute_bytes", m.activations_recompute},
      {"total_bytes", m.total()}};
}

}  // namespace

std::string format_plan_json(const PlanReport& r, const Recipe& recipe) {
  const auto& p = recipe.parallel;
  nlohmann::json memory = memory_json(r.memory);
  memory["pipeline_rank"] = r.memory.pipeline_rank;
  nlohmann::json stages = nlohmann::json::array();
  for (const RankMemory& stage : r.memory.stages) stages.push_back(memory_json(stage));
  memory["per_pipeline_rank"] = stages;
  const nlohmann::json out = {{"layout",
                               {{"world_size", r.world_size},
                                {"tensor_model_parallel_size", p.tensor_model_parallel_size},
                                {"context_parallel_size", p.context_parallel_size},
                                {"pipeline_model_parallel_size", p.pipeline_model_parallel_size},
                                {"data_parallel_size", recipe.derived.data_parallel_size},
                                {"use_distributed_optimizer", p.use_distributed_optimizer}}},
                              {"vocab_size", r.vocab_size},
                              {"padded_vocab_size", r.padded_vocab_size},
                              {"parameters", r.parameters},
                              {"embedding_parameters", r.embedding_parameters},
                              {"parameters_per_rank", r.parameters_per_rank},
                              {"global_batch_size", recipe.derived.global_batch_size},
                              {"num_microbatches", recipe.derived.num_microbatches},
                              {"tokens_per_step", r.tokens_per_step},
                              {"flops_per_step", r.flops_per_step},
                              {"flops_per_token", r.flops_per_token},
                              {"memory", memory},
                              {"communication_bytes",
                               {{"data_parallel", r.communication.data_parallel},
                                {"tensor_parallel", r.communication.tensor_parallel},
                                {"pipeline_parallel", r.communication.pipeline_parallel}}},
                              {"pipeline_bubble", r.pipeline_bubble}};
  return out.dump(2) + "\n";
}

}  // namespace me
