// Module: owns parameters (declared with shape and init) and child modules. Forward and backward
// are explicit per module type; activations go in a MicroBatchContext, never in members.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "engine/nn/context.h"
#include "engine/nn/layer_config.h"
#include "engine/nn/module_cost.h"
#include "engine/nn/parameter.h"
#include "engine/registry/registry.h"

namespace me {

class Module {
 public:
  explicit Module(std::string name) : name_(std::move(name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  const std::string& name() const { return name_; }

  // This module's and its children's parameters, in forward order.
  std::vector<Parameter*> parameters();
  std::vector<const Parameter*> parameters() const;
  // The modules added with add_child, in forward order.
  const std::vector<Module*>& children() const { return children_; }

 protected:
  // Declares a parameter named `<module name>.<local_name>`.
  Parameter& add_parameter(const std::string& local_name, Shape shape, ParamInit init,
                           bool weight_decay);
  void add_child(Module& child) { children_.push_back(&child); }
  // "<this module's name>.<local>" (or just local at the root).
  std::string child_name(const std::string& local) const {
    return name_.empty() ? local : name_ + "." + local;
  }

 private:
  std::string name_;
  std::deque<Parameter> params_;  // deque: stable addresses as parameters are added
  std::vector<Module*> children_;
};

// A hidden-state layer: (B, T, C) -> (B, T, C). Block slots (attention, mlp, norms) hold these,
// and the recipe picks each slot's registered type.
class Layer : public Module {
 public:
  using Module::Module;
  virtual Tensor forward(const Tensor& x, MicroBatchContext& ctx) = 0;
  // forward(x + residual), with x + residual (a new tensor: the residual stream's next value)
  // returned in `added`; the norms fuse the add into their forward kernel.
  virtual Tensor forward_add(const Tensor& x, const Tensor& residual, Tensor& added,
                             MicroBatchContext& ctx);
  // Returns dx and accumulates parameter gradients into their grad views.
  virtual Tensor backward(const Tensor& dy, MicroBatchContext& ctx) = 0;
  // backward(dy) plus `dresidual`, the gradient of a residual connection around this layer, as a
  // new tensor; the norms fuse the add into their backward kernel.
  virtual Tensor backward_add(const Tensor& dy, const Tensor& dresidual, MicroBatchContext& ctx);
  // What one token of a micro-batch costs this layer (engine/nn/module_cost.h); a block sums
  // its slots' reports, so every layer type a recipe can name reports its own.
  virtual ModuleCost cost(const CostQuery& query) const = 0;
};

// Layers are built from (module name, the stack's LayerConfig), each reading its own part.
ME_DECLARE_REGISTRY(LayerRegistry, "layer", Layer, const std::string&, const LayerConfig&);

// A norm layer of the registered type config.type.
std::unique_ptr<Layer> make_norm(const std::string& name, const NormConfig& config);

// Declares how a norm's weight or bias relates across the tensor-parallel group: applied to this
// rank's attention heads (over_rank_heads, the q/k norms) or, like every norm between the
// tensor-parallel blocks, to every token row (tensor_parallel.h).
void declare_norm_parameter(Parameter& param, bool over_rank_heads);

}  // namespace me

// ME_REGISTER_LAYER("mlp", Mlp, mlp): registers Class, built from (name, config.mlp).
#define ME_REGISTER_LAYER(name, Class, part)                                                \
  ME_REGISTER_FACTORY(::me::LayerRegistry, name,                                            \
                      [](const std::string& layer_name,                                     \
                         const ::me::LayerConfig& config) -> std::unique_ptr<::me::Layer> { \
                        return std::make_unique<Class>(layer_name, config.part);            \
                      })
