// MLP block: y = fc2(act(fc1(x))), act = gelu or swiglu. Under tensor parallelism fc1 is
// column-parallel (each rank its share of the gate and of the up half) and fc2 row-parallel.
#include "engine/nn/mlp.h"

#include <algorithm>

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

ModuleCost Mlp::cost(const CostQuery& query) const {
  const double e = query.element_bytes();
  const ModuleCost fc1 = linear_fc1_.cost(query);
  const double rows = linear_fc1_.output_rows(query.rows);  // every token's
  const ModuleCost fc2 = linear_fc2_.cost(query.with_rows(rows));
  const double pre = rows * static_cast<double>(linear_fc1_.out_features()) * e;  // F or 2F
  const double act = rows * static_cast<double>(linear_fc2_.in_features()) * e;   // F
  const double dy =
      linear_fc2_.output_rows(rows) * static_cast<double>(linear_fc2_.out_features()) * e;
  ModuleCost c;
  c.input = fc1.input;
  c.saved = fc1.saved + pre + fc2.saved;
  c.flops = fc1.flops + fc2.flops;
  c.tensor_parallel_bytes = fc1.tensor_parallel_bytes + fc2.tensor_parallel_bytes;
  // After fc2's backward its input is released; dy stays alive with the caller.
  const double fc1_phase = dy + fc1.backward - fc2.saved;
  if (!swiglu_) {
    c.backward = std::max(fc2.backward + (query.host ? act : 0.0), fc1_phase);
  } else {  // the activation's gradient (F) lives until fc1's backward returns
    c.backward = std::max({fc2.backward, dy + act + pre - fc2.saved, fc1_phase + act});
  }
  return c;
}

ME_REGISTER_LAYER("mlp", Mlp, mlp);

}  // namespace me
