// MLP block: y = fc2(gelu(fc1(x))); fc2 starts at init_method_std / sqrt(2 num_layers) (Megatron).
#include "engine/nn/mlp.h"

#include <cmath>

#include "engine/recipe/recipe.h"
#include "kernels/gelu.h"

namespace me {

Mlp::Mlp(const std::string& name, const Recipe& recipe)
    : Layer(name),
      linear_fc1_(child_name("linear_fc1"), recipe.model.hidden_size,
                  recipe.derived.ffn_hidden_size, recipe.model.add_bias_linear,
                  ParamInit::normal(recipe.model.init_method_std)),
      linear_fc2_(
          child_name("linear_fc2"), recipe.derived.ffn_hidden_size, recipe.model.hidden_size,
          recipe.model.add_bias_linear,
          ParamInit::normal(recipe.model.init_method_std /
                            std::sqrt(2.0 * static_cast<double>(recipe.model.num_layers)))) {
  add_child(linear_fc1_);
  add_child(linear_fc2_);
}

Tensor Mlp::forward(const Tensor& x, MicroBatchContext& ctx) {
  Tensor h = linear_fc1_.forward(x, ctx);
  Tensor a = Tensor::empty(h.shape(), h.dtype(), h.device());
  gelu_forward(h, a);
  ctx.save(this, Saved{h});
  return linear_fc2_.forward(a, ctx);
}

Tensor Mlp::backward(const Tensor& dy, MicroBatchContext& ctx) {
  Saved saved = ctx.take<Saved>(this);
  const Tensor da = linear_fc2_.backward(dy, ctx);
  Tensor dh = Tensor::empty(da.shape(), da.dtype(), da.device());
  gelu_backward(saved.pre_activation, da, dh);
  return linear_fc1_.backward(dh, ctx);
}

ME_REGISTER(LayerRegistry, "mlp", Mlp);

}  // namespace me
