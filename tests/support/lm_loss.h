// Model tests' view of a language model's one loss ("lm loss"): its sums after a forward, and a
// backward from a given gradient of its sum, as the trainer would seed it.
#pragma once

#include <string>
#include <vector>

#include "engine/core/batch.h"
#include "engine/models/model.h"

namespace me::test {

struct LmLoss {
  double loss_sum = 0.0;
  double num_tokens = 0.0;
};

// The model's forward over `batch`: the lm loss sums it added to ctx.
LmLoss lm_forward(Model& model, const Batch& batch, MicroBatchContext& ctx);
// Backward with d(objective) / d(lm loss sum) = grad.
void lm_backward(Model& model, double grad, MicroBatchContext& ctx);
// The names of a model's inputs, in order.
std::vector<std::string> names_of(const std::vector<TensorSpec>& specs);
// The lm loss sums a context holds (after a forward, or a pipeline stage's chunk).
LmLoss lm_loss_of(const MicroBatchContext& ctx);

}  // namespace me::test
