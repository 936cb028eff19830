// Building a stage's model under the trainer's tensor-parallel and pipeline scopes.
#include "engine/plan/stage_model.h"

#include "engine/models/transformer_config.h"
#include "engine/nn/tensor_parallel.h"
#include "engine/recipe/sequence_parallel_rules.h"

namespace me {

std::unique_ptr<Model> build_stage_model(const Recipe& recipe, const PipelineStage& stage,
                                         int64_t tensor_parallel_size, int64_t padded_vocab_size) {
  const TensorParallel tp{0, tensor_parallel_size, nullptr, nullptr,
                          sequence_parallel_enabled(recipe, false)};
  TensorParallelScope tp_scope(tp);
  PipelineStageScope stage_scope(stage);
  return ModelRegistry::instance().create(recipe.model.type, recipe, padded_vocab_size);
}

CostQuery cost_query(const Recipe& recipe) {
  CostQuery query;
  query.dtype = compute_dtype(recipe);
  query.seq_length = static_cast<double>(recipe.model.seq_length);
  query.host = recipe.train.device != "cuda";
  return query;
}

}  // namespace me
