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
  // Inference: logits (B, T, padded vocab) f32 for tokens (B, T); nothing saved.
  virtual Tensor logits(const Tensor& tokens) = 0;
  // Incremental inference: tokens (B, Tn) at positions cache.lengths()[b] + i, reading and
  // extending the cache (the caller advances its lengths). Models without it throw.
  virtual Tensor logits(const Tensor& tokens, KvCache& cache);
};

// Models are built from (recipe, padded vocabulary size).
ME_DECLARE_REGISTRY(ModelRegistry, "model", Model, const Recipe&, int64_t);

}  // namespace me
