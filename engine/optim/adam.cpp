// Adam: one adamw_update_chunks launch per step over the flat parameter, gradient and moment
// buffers (the update runs cut into balanced chunks once, at construction).
#include "engine/optim/adam.h"

#include <fmt/format.h>

#include "engine/recipe/recipe.h"
#include "kernels/optimizer_update.h"

namespace me {

namespace {

void check_beta(double beta, const char* field) {
  if (!(beta >= 0.0 && beta < 1.0)) {
    throw Error(fmt::format("must be in [0, 1), got {}", beta), field);
  }
}

}  // namespace

Adam::Adam(ParamBuffers& buffers, const Recipe& recipe, const OptimizerShard& shard)
    : buffers_(buffers),
      shard_(shard),
      beta1_(recipe.optimizer.adam_beta1),
      beta2_(recipe.optimizer.adam_beta2),
      eps_(recipe.optimizer.adam_eps) {
  check_beta(beta1_, "optimizer.adam_beta1");
  check_beta(beta2_, "optimizer.adam_beta2");
  if (!(eps_ > 0.0)) throw Error(fmt::format("must be > 0, got {}", eps_), "optimizer.adam_eps");
  const int64_t n = shard_elems(buffers_.layout(), shard_);
  exp_avg_ = Tensor::zeros({n}, DType::kF32, buffers_.device());
  exp_avg_sq_ = Tensor::zeros({n}, DType::kF32, buffers_.device());
  std::vector<UpdateRange> ranges;
  for (const UpdateRun& run : update_runs(buffers_.layout(), shard_)) {
    ranges.push_back({run.begin, run.end, run.state_begin, run.weight_decay});
  }
  chunks_ = adamw_chunk_table(ranges, buffers_.device());
}

void Adam::step(double lr, double weight_decay) {
  ++step_count_;
  const AdamWStep update{lr, beta1_, beta2_, eps_, weight_decay, step_count_};
  adamw_update_chunks(buffers_.params(), buffers_.grads(), exp_avg_, exp_avg_sq_, chunks_, update);
}

std::vector<std::pair<std::string, Tensor*>> Adam::state_buffers() {
  return {{"exp_avg", &exp_avg_}, {"exp_avg_sq", &exp_avg_sq_}};
}

}  // namespace me

ME_REGISTER(me::OptimizerRegistry, "adam", me::Adam);
