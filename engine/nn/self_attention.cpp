// Self-attention: qkv = x Wqkv^T; q, k, v = split per group; o = softmax(q k^T * s) v; y = o Wo^T.
#include "engine/nn/self_attention.h"

#include <cmath>

#include "engine/recipe/recipe.h"
#include "kernels/attention.h"

namespace me {

namespace {
int64_t checked_query_groups(const Recipe& recipe) {
  const int64_t heads = recipe.model.num_attention_heads;
  const int64_t groups = recipe.derived.num_query_groups;
  if (groups < 1 || heads % groups != 0) {
    throw Error("num_query_groups " + std::to_string(groups) + " must divide num_attention_heads " +
                    std::to_string(heads),
                "model.num_query_groups");
  }
  return groups;
}
}  // namespace

SelfAttention::SelfAttention(const std::string& name, const Recipe& recipe)
    : Layer(name),
      num_heads_(recipe.model.num_attention_heads),
      num_query_groups_(checked_query_groups(recipe)),
      kv_channels_(recipe.derived.kv_channels),
      attention_dropout_(recipe.model.attention_dropout),
      linear_qkv_(child_name("linear_qkv"), recipe.model.hidden_size,
                  (num_heads_ + 2 * num_query_groups_) * kv_channels_, recipe.model.add_bias_linear,
                  ParamInit::normal(recipe.model.init_method_std)),
      linear_proj_(
          child_name("linear_proj"), num_heads_ * kv_channels_, recipe.model.hidden_size,
          recipe.model.add_bias_linear,
          ParamInit::normal(recipe.model.init_method_std /
                            std::sqrt(2.0 * static_cast<double>(recipe.model.num_layers)))) {
  add_child(linear_qkv_);
  add_child(linear_proj_);
}

namespace {
AttentionParams attention_params(double scale, double dropout, const std::string& stream_name,
                                 const MicroBatchContext& ctx) {
  AttentionParams params;
  params.scale = scale;
  params.causal = true;
  params.dropout_p = ctx.training() ? dropout : 0.0;
  params.seed = ctx.seed();
  params.stream = ctx.rng_stream(stream_name);
  return params;
}
}  // namespace

Tensor SelfAttention::forward(const Tensor& x, MicroBatchContext& ctx) {
  ME_CHECK(x.ndim() == 3, "{}: input {} is not (B, T, C)", name(), x.describe());
  const int64_t b = x.dim(0), t = x.dim(1);
  const Tensor qkv = linear_qkv_.forward(x, ctx);
  Tensor q = Tensor::empty({b, t, num_heads_, kv_channels_}, x.dtype(), x.device());
  Tensor k = Tensor::empty({b, t, num_query_groups_, kv_channels_}, x.dtype(), x.device());
  Tensor v = Tensor::empty({b, t, num_query_groups_, kv_channels_}, x.dtype(), x.device());
  split_qkv_forward(qkv, q, k, v);

  const DType lse_dtype = x.dtype() == DType::kF64 ? DType::kF64 : DType::kF32;
  Tensor out = Tensor::empty(q.shape(), x.dtype(), x.device());
  Tensor lse = Tensor::empty({b, num_heads_, t}, lse_dtype, x.device());
  const AttentionParams params =
      attention_params(1.0 / std::sqrt(static_cast<double>(kv_channels_)), attention_dropout_,
                       child_name("core_attention"), ctx);
  attention_forward(q, k, v, out, lse, params);
  ctx.save(this, Saved{q, k, v, out, lse});
  return linear_proj_.forward(out.reshape({b, t, num_heads_ * kv_channels_}), ctx);
}

Tensor SelfAttention::backward(const Tensor& dy, MicroBatchContext& ctx) {
  Saved saved = ctx.take<Saved>(this);
  const Tensor dout = linear_proj_.backward(dy, ctx).reshape(saved.out.shape());
  Tensor dq = Tensor::empty(saved.q.shape(), dy.dtype(), dy.device());
  Tensor dk = Tensor::empty(saved.k.shape(), dy.dtype(), dy.device());
  Tensor dv = Tensor::empty(saved.v.shape(), dy.dtype(), dy.device());
  const AttentionParams params =
      attention_params(1.0 / std::sqrt(static_cast<double>(kv_channels_)), attention_dropout_,
                       child_name("core_attention"), ctx);
  attention_backward(saved.q, saved.k, saved.v, saved.out, saved.lse, dout, dq, dk, dv, params);
  const int64_t b = dy.dim(0), t = dy.dim(1);
  Tensor dqkv = Tensor::empty({b, t, linear_qkv_.out_features()}, dy.dtype(), dy.device());
  split_qkv_backward(dq, dk, dv, dqkv);
  return linear_qkv_.backward(dqkv, ctx);
}

ME_REGISTER(LayerRegistry, "self_attention", SelfAttention);

}  // namespace me
