// LayerNorm layer: y = (x - mean) * rstd * weight + bias over the last dimension.
#include "engine/nn/layer_norm.h"

#include "kernels/layernorm.h"

namespace me {

LayerNorm::LayerNorm(const std::string& name, int64_t hidden_size, double epsilon,
                     bool over_rank_heads)
    : Layer(name),
      hidden_size_(hidden_size),
      epsilon_(epsilon),
      weight_(add_parameter("weight", {hidden_size}, ParamInit::ones(), false)),
      bias_(add_parameter("bias", {hidden_size}, ParamInit::zeros(), false)) {
  for (Parameter* p : {&weight_, &bias_}) declare_norm_parameter(*p, over_rank_heads);
}

Tensor LayerNorm::forward(const Tensor& x, MicroBatchContext& ctx) {
  return normalize(x, Tensor(), nullptr, ctx);
}

Tensor LayerNorm::forward_add(const Tensor& x, const Tensor& residual, Tensor& added,
                              MicroBatchContext& ctx) {
  ME_CHECK(residual.shape() == x.shape(), "{}: residual {} for input {}", name(),
           residual.describe(), x.describe());
  return normalize(x, residual, &added, ctx);
}

Tensor LayerNorm::normalize(const Tensor& x, const Tensor& residual, Tensor* added,
                            MicroBatchContext& ctx) {
  ME_CHECK(x.ndim() >= 1 && x.dim(-1) == hidden_size_, "{}: input {} for hidden size {}", name(),
           x.describe(), hidden_size_);
  const Tensor x2 = x.flatten_to_2d();
  const int64_t rows = x2.dim(0);
  // Statistics in f32, or f64 when the model computes in f64 (gradient checks).
  const DType stat_dtype = accum_dtype(x.dtype());
  Tensor y = Tensor::empty(x2.shape(), x.dtype(), x.device());
  Tensor mean = Tensor::empty({rows}, stat_dtype, x.device());
  Tensor rstd = Tensor::empty({rows}, stat_dtype, x.device());
  Tensor input = x2;
  if (added) {
    input = Tensor::empty(x2.shape(), x.dtype(), x.device());
    add_layernorm_forward(x2, residual.flatten_to_2d(), weight_.value, bias_.value, epsilon_, input,
                          y, mean, rstd);
    *added = input.reshape(x.shape());
  } else {
    layernorm_forward(x2, weight_.value, bias_.value, epsilon_, y, mean, rstd);
  }
  ctx.save(this, Saved{input, mean, rstd});
  return y.reshape(x.shape());
}

Tensor LayerNorm::backward(const Tensor& dy, MicroBatchContext& ctx) {
  return input_gradient(dy, Tensor(), ctx);
}

Tensor LayerNorm::backward_add(const Tensor& dy, const Tensor& dresidual, MicroBatchContext& ctx) {
  ME_CHECK(dresidual.shape() == dy.shape(), "{}: residual gradient {} for gradient {}", name(),
           dresidual.describe(), dy.describe());
  return input_gradient(dy, dresidual.flatten_to_2d(), ctx);
}

Tensor LayerNorm::input_gradient(const Tensor& dy, const Tensor& dresidual,
                                 MicroBatchContext& ctx) {
  Saved saved = ctx.take<Saved>(this);
  const Tensor dy2 = dy.flatten_to_2d();
  ME_CHECK(dy2.shape() == saved.input.shape(), "{}: gradient {} for input {}", name(),
           dy.describe(), saved.input.describe());
  Tensor dx = Tensor::empty(dy2.shape(), dy.dtype(), dy.device());
  layernorm_backward(dy2, saved.input, weight_.value, saved.mean, saved.rstd, dx, weight_.grad,
                     bias_.grad, dresidual);
  return dx.reshape(dy.shape());
}

ModuleCost LayerNorm::cost(const CostQuery& query) const {
  const double row = static_cast<double>(hidden_size_) * query.element_bytes();
  ModuleCost c;
  c.input = query.rows * row;
  c.saved = query.rows * (row + 2.0 * query.statistic_bytes());
  c.backward = 2.0 * query.rows * row;
  return c;
}

ME_REGISTER_LAYER("layer_norm", LayerNorm, norm);

}  // namespace me
