// Gradient bookkeeping of pipeline parallelism (Megatron's finalize_model_grads): the tied word
// embeddings' two copies (first and last stage) get the sum of both gradients, and the global
// gradient norm sums squares over the tensor- and pipeline-parallel groups, counting the shared
// embedding once (on the first stage).
#pragma once

#include <vector>

#include "engine/nn/parameter.h"
#include "engine/nn/tensor_parallel.h"
#include "engine/parallel/communicator.h"
#include "engine/parallel/pipeline_layout.h"
#include "engine/parallel/tensor_collectives.h"

namespace me {

// In place over `embedding` (ParallelGroups::embedding and its device twin): the gradient of
// embedding.word_embeddings.weight becomes the sum over the first and last stage. Collective
// there, so only for tied embeddings (untied, the last stage has no copy); a no-op in a group of
// one (middle stages, pp 1).
void all_reduce_embedding_grads(const std::vector<Parameter*>& params,
                                const GroupCommunicators& embedding);

// sqrt of the whole model's sum of squared gradients; collective over tp.comm and `pipeline`.
// Parameters replicated over tp count 1/tp per rank; the last stage's copy of the tied
// embeddings is left out. Grads must be whole (data-parallel reduction done), or under the
// distributed optimizer this rank's shards with the rest zero: `shards` is then the
// data-parallel group that sums them (collective over it too).
double pipeline_grad_norm(const std::vector<Parameter*>& params, const TensorParallel& tp,
                          const PipelineStage& stage, Communicator& pipeline,
                          Communicator* shards = nullptr);

}  // namespace me
