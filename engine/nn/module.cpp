// Module parameter bookkeeping and parameter initialisation.
#include "engine/nn/module.h"

#include <utility>

#include "engine/core/philox.h"
#include "engine/nn/tensor_parallel.h"
#include "kernels/elementwise.h"

namespace me {

std::vector<const Parameter*> Module::parameters() const {
  std::vector<const Parameter*> out;
  for (const auto& p : params_) out.push_back(&p);
  for (const Module* child : children_) {
    for (const Parameter* p : child->parameters()) out.push_back(p);
  }
  return out;
}

std::vector<Parameter*> Module::parameters() {
  std::vector<Parameter*> out;
  for (const Parameter* p : std::as_const(*this).parameters()) {
    out.push_back(const_cast<Parameter*>(p));  // this module owns them, and it is not const here
  }
  return out;
}

Parameter& Module::add_parameter(const std::string& local_name, Shape shape, ParamInit init,
                                 bool weight_decay) {
  Parameter& p = params_.emplace_back();
  p.name = child_name(local_name);
  p.shape = std::move(shape);
  p.init = init;
  p.weight_decay = weight_decay;
  return p;
}

Tensor Layer::forward_add(const Tensor& x, const Tensor& residual, Tensor& added,
                          MicroBatchContext& ctx) {
  added = Tensor::empty(x.shape(), x.dtype(), x.device());
  add(x, residual, added);
  return forward(added, ctx);
}

Tensor Layer::backward_add(const Tensor& dy, const Tensor& dresidual, MicroBatchContext& ctx) {
  Tensor dx = backward(dy, ctx);
  add_into(dx, dresidual);
  return dx;
}

std::unique_ptr<Layer> make_norm(const std::string& name, const NormConfig& config) {
  LayerConfig layer;
  layer.norm = config;
  return LayerRegistry::instance().create(config.type, name, layer);
}

void declare_norm_parameter(Parameter& param, bool over_rank_heads) {
  const TensorParallel& tp = TensorParallel::current();
  if (over_rank_heads) {
    tp.set_per_rank_heads(param);
  } else {
    tp.set_outside_blocks(param);
  }
}

void initialize_parameter(Parameter& param, uint64_t seed) {
  ME_CHECK(param.main.defined(), "parameter '{}' initialised before binding", param.name);
  Tensor host = Tensor::empty(param.shape, DType::kF32);
  float* data = host.data<float>();
  const int64_t n = param.numel();
  const uint64_t stream = rng_stream(param.name);
  for (int64_t i = 0; i < n; ++i) {
    switch (param.init.kind) {
      case ParamInit::Kind::kZeros:
        data[i] = 0.0f;
        break;
      case ParamInit::Kind::kOnes:
        data[i] = 1.0f;
        break;
      case ParamInit::Kind::kNormal:
        data[i] = static_cast<float>(
            param.init.std *
            philox_normal(seed, stream,
                          static_cast<uint64_t>(param.partition.full_index(param.shape, i))));
        break;
    }
  }
  param.main.copy_from(host.cast(param.main.dtype()).to(param.main.device()));
}

}  // namespace me
