// Model: a registered composition of modules that reads named batch tensors and adds named losses.
// The trainer and the pipeline schedule only see this interface, which keeps one loop for every
// model family: a model says what it reads (and which dataset yields it), which losses it adds,
// and what crosses each of its pipeline boundaries; the whole-model pass is its chunks in turn.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/batch.h"
#include "engine/core/tensor.h"
#include "engine/nn/losses.h"
#include "engine/nn/module.h"

namespace me {

class CausalLm;
struct Recipe;

// What one token of a micro-batch costs a pipeline chunk on this rank (engine/nn/module_cost.h).
struct ChunkCost {
  ModuleCost modules;  // its modules in the order they run
  // Bytes of the batch's own tensors (Model::inputs) its context still references after its
  // forward, once the batch itself is dropped (a pipeline stage drops it): views its modules keep
  // and the sequence info.
  double batch = 0;
};

class Model : public Module {
 public:
  using Module::Module;

  // The batch tensors this model reads, one sample's shape each; the trainer checks them against
  // what the dataset yields before the first step.
  virtual std::vector<TensorSpec> inputs() const = 0;
  // The registered dataset type that yields them ("gpt").
  virtual std::string dataset_type() const = 0;
  // Every loss the model or its layers add to a micro-batch's context, in logging order; the
  // first is the one `loss` reports in the metrics.
  virtual std::vector<LossSpec> losses() const = 0;

  // Pipeline parallelism: a model built under a PipelineStageScope holds only its stage's chunks
  // (one chunk without pipeline parallelism). chunk_inputs(c) is what chunk c receives from the
  // previous stage (nothing on the model's first chunk, which reads only the batch) and
  // chunk_outputs(c) what it sends on (nothing on the model's last chunk, which adds the losses):
  // names, whole-tensor shapes and dtypes, in the order they travel.
  virtual int64_t num_chunks() const = 0;
  virtual std::vector<TensorSpec> chunk_inputs(int64_t chunk) const = 0;
  virtual std::vector<TensorSpec> chunk_outputs(int64_t chunk) const = 0;
  // Chunk c's forward: from the batch and the tensors of chunk_inputs(c) to those of
  // chunk_outputs(c); losses go into ctx.
  virtual NamedTensors forward_chunk(int64_t chunk, const Batch& batch, const NamedTensors& inputs,
                                     MicroBatchContext& ctx) = 0;
  // Chunk c's backward: from the gradients of its outputs (on the model's last chunk, from the
  // losses' gradients set in ctx) to the gradients of its inputs; parameter gradients accumulate
  // into their grad views.
  virtual NamedTensors backward_chunk(int64_t chunk, const NamedTensors& output_grads,
                                      MicroBatchContext& ctx) = 0;

  // Chunk c's cost per token of a micro-batch on this rank, its modules summed as they run
  // (query.rows = 1: the model picks its hidden states' rows).
  virtual ChunkCost chunk_cost(int64_t chunk, const CostQuery& query) const = 0;

  // The whole model on one rank (no pipeline parallelism): every chunk's forward in turn, then
  // every chunk's backward in reverse.
  void forward(const Batch& batch, MicroBatchContext& ctx);
  void backward(MicroBatchContext& ctx);

  // Generation (engine/models/causal_lm.h), for the models that can: null otherwise.
  virtual CausalLm* causal_lm() { return nullptr; }
};

// Models are built from (recipe, padded vocabulary size).
ME_DECLARE_REGISTRY(ModelRegistry, "model", Model, const Recipe&, int64_t);

}  // namespace me
