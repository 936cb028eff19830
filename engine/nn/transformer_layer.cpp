// Transformer block: two residual branches, each norm -> layer -> dropout -> add. Backward sends
// the residual gradient straight through and adds each branch's input gradient to it (inside the
// branch's norm backward, which fuses the add); forward adds the attention branch inside the MLP
// branch's norm.
#include "engine/nn/transformer_layer.h"

#include "engine/nn/layer_norm.h"
#include "engine/nn/recompute.h"
#include "engine/recipe/recipe.h"
#include "kernels/elementwise.h"

namespace me {

TransformerLayerSlots TransformerLayerSlots::standard(const Recipe& recipe) {
  const std::string norm = normalization_layer_name(recipe);
  return {norm, "self_attention", norm, "mlp"};
}

namespace {
std::unique_ptr<Layer> build_slot(const std::string& type, const std::string& name,
                                  const Recipe& recipe) {
  return LayerRegistry::instance().create(type, name, recipe);
}

// x + branch, into a new tensor (x may be a view the caller still needs).
Tensor residual_add(const Tensor& x, const Tensor& branch) {
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  add(x, branch, out);
  return out;
}
}  // namespace

TransformerLayer::TransformerLayer(const std::string& name, const Recipe& recipe,
                                   const TransformerLayerSlots& slots)
    : Layer(name),
      input_layernorm_(build_slot(slots.input_layernorm, child_name("input_layernorm"), recipe)),
      self_attention_(build_slot(slots.self_attention, child_name("self_attention"), recipe)),
      self_attn_dropout_(child_name("self_attn_bda"), recipe.model.hidden_dropout),
      pre_mlp_layernorm_(
          build_slot(slots.pre_mlp_layernorm, child_name("pre_mlp_layernorm"), recipe)),
      mlp_(build_slot(slots.mlp, child_name("mlp"), recipe)),
      mlp_dropout_(child_name("mlp_bda"), recipe.model.hidden_dropout),
      selective_recompute_(selective_recompute(recipe)) {
  add_child(*input_layernorm_);
  add_child(*self_attention_);
  add_child(*pre_mlp_layernorm_);
  add_child(*mlp_);
}

TransformerLayer::TransformerLayer(const std::string& name, const Recipe& recipe)
    : TransformerLayer(name, recipe, TransformerLayerSlots::standard(recipe)) {}

Tensor TransformerLayer::forward(const Tensor& x, MicroBatchContext& ctx) {
  Tensor a = input_layernorm_->forward(x, ctx);
  Layer* attention = self_attention_.get();
  a = selective_recompute_ ? checkpointed_forward(*this, {&attention, 1}, a, ctx)
                           : attention->forward(a, ctx);
  a = self_attn_dropout_.forward(a, ctx);
  Tensor h;  // x + a, the residual stream after attention, summed inside the norm's kernel
  Tensor m = pre_mlp_layernorm_->forward_add(x, a, h, ctx);
  m = mlp_->forward(m, ctx);
  m = mlp_dropout_.forward(m, ctx);
  return residual_add(h, m);
}

Tensor TransformerLayer::backward(const Tensor& dy, MicroBatchContext& ctx) {
  Tensor dm = mlp_dropout_.backward(dy, ctx);
  dm = mlp_->backward(dm, ctx);
  const Tensor dh = pre_mlp_layernorm_->backward_add(dm, dy, ctx);
  Tensor da = self_attn_dropout_.backward(dh, ctx);
  Layer* attention = self_attention_.get();
  da = selective_recompute_ ? checkpointed_backward(*this, {&attention, 1}, da, ctx)
                            : attention->backward(da, ctx);
  return input_layernorm_->backward_add(da, dh, ctx);
}

ME_REGISTER(LayerRegistry, "transformer_layer", TransformerLayer);

}  // namespace me
