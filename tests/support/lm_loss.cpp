// The "lm loss" term of a context, read and seeded by name.
#include "tests/support/lm_loss.h"

namespace me::test {

std::vector<std::string> names_of(const std::vector<TensorSpec>& specs) {
  std::vector<std::string> out;
  for (const TensorSpec& s : specs) out.push_back(s.name);
  return out;
}

LmLoss lm_loss_of(const MicroBatchContext& ctx) {
  for (const LossTerm& t : ctx.losses().terms()) {
    if (t.name == "lm loss") return {t.sum, t.count};
  }
  return {};
}

LmLoss lm_forward(Model& model, const Batch& batch, MicroBatchContext& ctx) {
  model.forward(batch, ctx);
  return lm_loss_of(ctx);
}

void lm_backward(Model& model, double grad, MicroBatchContext& ctx) {
  ctx.set_loss_grad("lm loss", grad);
  model.backward(ctx);
}

}  // namespace me::test
