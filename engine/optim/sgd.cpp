// Sgd: per-run sgd_update calls over the flat parameter, gradient and momentum buffers.
#include "engine/optim/sgd.h"

#include <fmt/format.h>

#include "engine/recipe/recipe.h"
#include "kernels/optimizer_update.h"

namespace me {

Sgd::Sgd(ParamBuffers& buffers, const Recipe& recipe, const OptimizerShard& shard)
    : buffers_(buffers),
      shard_(shard),
      momentum_(recipe.optimizer.sgd_momentum),
      runs_(update_runs(buffers.layout(), shard)) {
  if (!(momentum_ >= 0.0)) {
    throw Error(fmt::format("must be >= 0, got {}", momentum_), "optimizer.sgd_momentum");
  }
  momentum_buffer_ =
      Tensor::zeros({shard_elems(buffers_.layout(), shard_)}, DType::kF32, buffers_.device());
}

void Sgd::step(double lr, double weight_decay) {
  ++step_count_;
  // torch starts the buffer as a copy of the first gradient; a resumed run has a loaded buffer.
  const bool first_step = step_count_ == 1;
  for (const UpdateRun& run : runs_) {
    const Shape shape{run.end - run.begin};
    Tensor param = buffers_.params().view(run.begin, shape);
    Tensor grad = buffers_.grads().view(run.begin, shape);
    Tensor buffer = momentum_buffer_.view(run.state_begin, shape);
    sgd_update(param, grad, buffer, lr, momentum_, run.weight_decay ? weight_decay : 0.0,
               first_step);
  }
}

std::vector<std::pair<std::string, Tensor*>> Sgd::state_buffers() {
  return {{"momentum_buffer", &momentum_buffer_}};
}

}  // namespace me

ME_REGISTER(me::OptimizerRegistry, "sgd", me::Sgd);
