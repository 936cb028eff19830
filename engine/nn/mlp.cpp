// MLP block: y = fc2(act(fc1(x))), act = gelu or swiglu. Under tensor parallelism fc1 is
// column-parallel (each rank its share of the gate and of the up half) and fc2 row-parallel.
#include "engine/nn/mlp.h"

#include "kernels/swiglu.h"

namespace me {

namespace {
// The activation's width, checked to split over the tensor-parallel group (an error naming the
// field).
int64_t ffn_hidden_size(const MlpConfig& config) {
  TensorParallel::current().divide(config.ffn_hidden_size, "model.ffn_hidden_size");
  return config.ffn_hidden_size;
}
}  // namespace

Mlp::Mlp(const std::string& name, const MlpConfig& config)
    : Layer(name),
      swiglu_(config.activation == MlpConfig::Activation::kSwiglu),
      linear_fc1_(child_name("linear_fc1"), config.hidden_size,
                  (swiglu_ ? 2 : 1) * ffn_hidden_size(config), config.bias,
                  ParamInit::normal(config.init_std), TensorSplit::kColumn,
                  swiglu_ ? equal_blocks(2, 2 * config.ffn_hidden_size) : std::vector<int64_t>{}),
      linear_fc2_(child_name("linear_fc2"), config.ffn_hidden_size, config.hidden_size, config.bias,
                  ParamInit::normal(config.output_init_std), TensorSplit::kRow) {
  add_child(linear_fc1_);
  add_child(linear_fc2_);
}

Tensor Mlp::forward(const Tensor& x, MicroBatchContext& ctx) {
  if (!swiglu_) {
    Tensor pre;
    const Tensor a = linear_fc1_.forward_gelu(x, pre, ctx);
    ctx.save(this, Saved{pre});
    return linear_fc2_.forward(a, ctx);
  }
  Tensor h = linear_fc1_.forward(x, ctx);
  Shape act_shape = h.shape();
  act_shape.back() /= 2;
  Tensor a = Tensor::empty(act_shape, h.dtype(), h.device());
  swiglu_forward(h, a);
  ctx.save(this, Saved{h});
  return linear_fc2_.forward(a, ctx);
}

Tensor Mlp::backward(const Tensor& dy, MicroBatchContext& ctx) {
  Saved saved = ctx.take<Saved>(this);
  const Tensor& h = saved.pre_activation;
  if (!swiglu_) return linear_fc1_.backward(linear_fc2_.backward_gelu(dy, h, ctx), ctx);
  const Tensor da = linear_fc2_.backward(dy, ctx);
  Tensor dh = Tensor::empty(h.shape(), da.dtype(), da.device());
  swiglu_backward(h, da, dh);
  return linear_fc1_.backward(dh, ctx);
}

ME_REGISTER_LAYER("mlp", Mlp, mlp);

}  // namespace me
