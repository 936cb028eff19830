// Model: a registered composition of modules that consumes a named batch and produces a loss.
// The trainer only sees this interface, which keeps one loop for every model family.
#pragma once

#include <string>
#include <vector>

#include "engine/core/batch.h"
#include "engine/core/tensor.h"
#include "engine/nn/module.h"

namespace me {

class KvCache;

// Sums over the micro-batch's unmasked tokens; loss = loss_sum / num_tokens.
struct LossSums {
  double loss_sum = 0.0;
  double num_tokens = 0.0;
};

// One pipeline chunk's forward result: the hidden state for the next stage, or on the chunk that
// ends the model (the last stage's last chunk) the loss sums.
struct ChunkOutput {
  Tensor hidden;
  LossSums sums;
};

class Model : public Module {
 public:
  using Module::Module;
  // Batch tensor names this model reads.
  virtual std::vector<std::string> inputs() const = 0;
  // Forward with saving into ctx (when ctx.training()).
  virtual LossSums forward(const Batch& batch, MicroBatchContext& ctx) = 0;
  // Backward from d(loss_sum) = loss_sum_grad (e.g. 1 / (num_tokens * num_microbatches)),
  // accumulating into the parameters' grad views.
  virtual void backward(double loss_sum_grad, MicroBatchContext& ctx) = 0;
  // Pipeline parallelism (engine/parallel/pipeline_schedule.h): a model built under a
  // PipelineStageScope holds only its stage's chunks. forward_chunk runs chunk `chunk` of this
  // stage from the batch (the model's first chunk embeds the tokens) or from `hidden`, the
  // previous stage's output; every chunk reads position_ids (and document_ids) from the batch.
  // backward_chunk runs from d(loss_sum) on the chunk that ends the model, else from
  // `grad_hidden`, and returns d(input hidden) for the previous stage (undefined on the first
  // chunk). Models without pipeline support throw.
  virtual ChunkOutput forward_chunk(int64_t chunk, const Batch& batch, const Tensor& hidden,
                                    MicroBatchContext& ctx);
  virtual Tensor backward_chunk(int64_t chunk, double loss_sum_grad, const Tensor& grad_hidden,
                                MicroBatchContext& ctx);
  // Inference: logits (B, T, padded vocab) f32 for tokens (B, T); nothing saved.
  virtual Tensor logits(const Tensor& tokens) = 0;
  // Incremental inference: tokens (B, Tn) at positions cache.lengths()[b] + i, reading and
  // extending the cache (the caller advances its lengths). Models without it throw.
  virtual Tensor logits(const Tensor& tokens, KvCache& cache);
};

// Models are built from (recipe, padded vocabulary size).
ME_DECLARE_REGISTRY(ModelRegistry, "model", Model, const Recipe&, int64_t);

}  // namespace me
