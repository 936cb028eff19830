// The models `plan` reads its figures off: each pipeline stage's model as the trainer builds it
// (declarations only, nothing allocated), and the question its modules' cost reports answer.
#pragma once

#include <cstdint>
#include <memory>

#include "engine/models/model.h"
#include "engine/parallel/pipeline_layout.h"
#include "engine/recipe/recipe.h"

namespace me {

// The registered model as pipeline rank `stage` builds it on tensor-parallel rank 0 of
// `tensor_parallel_size` (the recipe's sequence parallelism with it): the trainer's scopes, so
// every parameter has its local (sharded) shape and every module its local sizes.
std::unique_ptr<Model> build_stage_model(const Recipe& recipe, const PipelineStage& stage,
                                         int64_t tensor_parallel_size, int64_t padded_vocab_size);

// Per token of a micro-batch in the recipe's compute dtype, sequence length and device.
CostQuery cost_query(const Recipe& recipe);

}  // namespace me
