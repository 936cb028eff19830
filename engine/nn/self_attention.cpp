// Self-attention: qkv = x Wqkv^T; q, k, v = split per group; q, k = rope(norm(q, k));
// o = softmax(q k^T * s) v within documents; y = o Wo^T. Under tensor parallelism this rank holds
// Hq / tp heads and G / tp query groups (linear_qkv column-, linear_proj row-parallel).
#include "engine/nn/self_attention.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "kernels/attention.h"

namespace me {

namespace {
int64_t checked_query_groups(const AttentionConfig& config) {
  if (config.num_query_groups < 1 || config.num_heads % config.num_query_groups != 0) {
    throw Error(fmt::format("num_query_groups {} must divide num_attention_heads {}",
                            config.num_query_groups, config.num_heads),
                "model.num_query_groups");
  }
  return config.num_query_groups;
}

// Per-head norms of this rank's heads only.
std::unique_ptr<Layer> qk_norm(const std::string& name, const AttentionConfig& config) {
  if (!config.qk_norm) return nullptr;
  NormConfig norm = *config.qk_norm;
  norm.over_rank_heads = true;
  return make_norm(name, norm);
}

std::optional<RotaryEmbedding> rotary(const AttentionConfig& config) {
  if (!config.rotary) return std::nullopt;
  return RotaryEmbedding(*config.rotary);
}
}  // namespace

SelfAttention::SelfAttention(const std::string& name, const AttentionConfig& config)
    : Layer(name),
      mask_(config.mask),
      num_heads_(TensorParallel::current().divide(config.num_heads, "model.num_attention_heads")),
      num_query_groups_(
          TensorParallel::current().divide(checked_query_groups(config), "model.num_query_groups")),
      first_head_(TensorParallel::current().rank * num_heads_),
      total_heads_(config.num_heads),
      kv_channels_(config.kv_channels),
      attention_dropout_(config.dropout),
      // Rows are whole query groups, so a column split hands each rank G / tp of them.
      linear_qkv_(child_name("linear_qkv"), config.hidden_size,
                  (config.num_heads + 2 * config.num_query_groups) * kv_channels_, config.qkv_bias,
                  ParamInit::normal(config.init_std)),
      q_layernorm_(qk_norm(child_name("q_layernorm"), config)),
      k_layernorm_(qk_norm(child_name("k_layernorm"), config)),
      linear_proj_(child_name("linear_proj"), config.num_heads * kv_channels_, config.hidden_size,
                   config.output_bias, ParamInit::normal(config.output_init_std),
                   TensorSplit::kRow),
      rotary_(rotary(config)) {
  add_child(linear_qkv_);
  if (q_layernorm_) {
    add_child(*q_layernorm_);
    add_child(*k_layernorm_);
  }
  add_child(linear_proj_);
}

// This rank's heads [first_head, first_head + Hq / tp) of total_heads: the dropout mask is drawn
// by global head.
AttentionParams SelfAttention::attention_params(const MicroBatchContext& ctx) const {
  AttentionParams params;
  params.scale = 1.0 / std::sqrt(static_cast<double>(kv_channels_));
  params.mask = mask_;
  params.dropout_p = ctx.training() ? attention_dropout_ : 0.0;
  params.seed = ctx.seed();
  params.stream = ctx.rng_stream(child_name("core_attention"));
  params.head_offset = first_head_;
  params.total_heads = total_heads_;
  params.document_ids = ctx.sequence().document_ids;
  params.kv_lengths = ctx.sequence().key_lengths;
  return params;
}

namespace {
const Tensor& positions(const MicroBatchContext& ctx, const std::string& name) {
  const Tensor& pos = ctx.sequence().position_ids;
  ME_CHECK(pos.defined(), "{}: RoPE needs the micro-batch's position_ids", name);
  return pos;
}
}  // namespace

SelfAttention::Heads SelfAttention::split_heads(const Tensor& qkv, MicroBatchContext& ctx) {
  const int64_t b = qkv.dim(0), t = qkv.dim(1);
  Heads h{Tensor::empty({b, t, num_heads_, kv_channels_}, qkv.dtype(), qkv.device()),
          Tensor::empty({b, t, num_query_groups_, kv_channels_}, qkv.dtype(), qkv.device()),
          Tensor::empty({b, t, num_query_groups_, kv_channels_}, qkv.dtype(), qkv.device())};
  split_qkv_forward(qkv, h.q, h.k, h.v);
  if (q_layernorm_) {
    h.q = q_layernorm_->forward(h.q, ctx);
    h.k = k_layernorm_->forward(h.k, ctx);
  }
  if (rotary_) {
    rotary_->forward(h.q, positions(ctx, name()));
    rotary_->forward(h.k, positions(ctx, name()));
  }
  return h;
}

Tensor SelfAttention::forward(const Tensor& x, MicroBatchContext& ctx) {
  ME_CHECK(x.ndim() == 3, "{}: input {} is not (B, T, C)", name(), x.describe());
  if (ctx.sequence().inference_state) return forward_cached(x, ctx);
  const Tensor qkv = linear_qkv_.forward(x, ctx);
  const int64_t b = qkv.dim(0), t = qkv.dim(1);  // every token, also under sequence parallelism
  Tensor out = Tensor::empty({b, t, num_heads_, kv_channels_}, x.dtype(), x.device());
  Tensor lse = Tensor::empty({b, num_heads_, t}, accum_dtype(x.dtype()), x.device());
  const AttentionParams params = attention_params(ctx);
  // Multi-head attention with q, k, v as projected: no split copies where the attention kernel
  // reads the heads from qkv itself (elsewhere splitting here keeps q, k, v for the backward).
  if (num_query_groups_ == num_heads_ && !q_layernorm_ && !rotary_ &&
      attention_reads_qkv_in_place(qkv, out, params)) {
    attention_forward_qkv(qkv, out, lse, params);
    ctx.save(this, Saved{qkv, Tensor(), Tensor(), Tensor(), out, lse});
  } else {
    Heads h = split_heads(qkv, ctx);
    attention_forward(h.q, h.k, h.v, out, lse, params);
    ctx.save(this, Saved{Tensor(), std::move(h.q), std::move(h.k), std::move(h.v), out, lse});
  }
  return linear_proj_.forward(out.reshape({b, t, num_heads_ * kv_channels_}), ctx);
}

Tensor SelfAttention::backward(const Tensor& dy, MicroBatchContext& ctx) {
  Saved saved = ctx.take<Saved>(this);
  const Tensor dout = linear_proj_.backward(dy, ctx).reshape(saved.out.shape());
  const AttentionParams params = attention_params(ctx);
  const int64_t b = saved.out.dim(0), t = saved.out.dim(1);  // every token, as in forward
  Tensor dqkv = Tensor::empty({b, t, linear_qkv_.out_features()}, dy.dtype(), dy.device());
  if (saved.qkv.defined()) {
    attention_backward_qkv(saved.qkv, saved.out, saved.lse, dout, dqkv, params);
    return linear_qkv_.backward(dqkv, ctx);
  }
  Tensor dq = Tensor::empty(saved.q.shape(), dy.dtype(), dy.device());
  Tensor dk = Tensor::empty(saved.k.shape(), dy.dtype(), dy.device());
  Tensor dv = Tensor::empty(saved.v.shape(), dy.dtype(), dy.device());
  attention_backward(saved.q, saved.k, saved.v, saved.out, saved.lse, dout, dq, dk, dv, params);
  if (rotary_) {
    rotary_->backward(dq, positions(ctx, name()));
    rotary_->backward(dk, positions(ctx, name()));
  }
  if (q_layernorm_) {
    dq = q_layernorm_->backward(dq, ctx);
    dk = k_layernorm_->backward(dk, ctx);
  }
  split_qkv_backward(dq, dk, dv, dqkv);
  return linear_qkv_.backward(dqkv, ctx);
}

ModuleCost SelfAttention::cost(const CostQuery& query) const {
  const double e = query.element_bytes();
  const ModuleCost qkv = linear_qkv_.cost(query);
  const double rows = linear_qkv_.output_rows(query.rows);  // every token's
  const ModuleCost proj = linear_proj_.cost(query.with_rows(rows));
  const double head = rows * static_cast<double>(kv_channels_) * e;
  const double q = static_cast<double>(num_heads_) * head;
  const double kv = static_cast<double>(num_query_groups_) * head;
  const double heads = q + 2.0 * kv;  // q, k and v, or the projection they are read from
  const double dy =
      linear_proj_.output_rows(rows) * static_cast<double>(linear_proj_.out_features()) * e;
  ModuleCost c;
  c.input = qkv.input;
  // linear_proj's saved input is `out` itself: counted once, as q's size.
  c.saved =
      qkv.saved + heads + q + rows * static_cast<double>(num_heads_) * query.statistic_bytes();
  // The core backward writes dq, dk, dv beside the projection's gradient dqkv and dout.
  const double core = dy + q + 2.0 * heads;
  c.backward = std::max(proj.backward, core);
  double norms = 0;  // the q/k norms' saved bytes, released after their backward
  if (q_layernorm_) {
    const ModuleCost qn = q_layernorm_->cost(query.with_rows(rows * num_heads_));
    const ModuleCost kn = k_layernorm_->cost(query.with_rows(rows * num_query_groups_));
    norms = qn.saved + kn.saved;
    c.saved += norms;
    // Each norm's gradient replaces dq (then dk); the q norm's saved tensors go first.
    c.backward = std::max({c.backward, core - q + qn.backward, core - kv + kn.backward - qn.saved});
  }
  c.backward = std::max(c.backward, dy + q + heads + qkv.backward - norms);
  const double keys = mask_ == AttentionMask::kCausal ? query.seq_length / 2.0 : query.seq_length;
  c.flops =
      qkv.flops + proj.flops + 12.0 * rows * static_cast<double>(num_heads_ * kv_channels_) * keys;
  c.tensor_parallel_bytes = qkv.tensor_parallel_bytes + proj.tensor_parallel_bytes;
  return c;
}

ME_REGISTER_LAYER("self_attention", SelfAttention, attention);

}  // namespace me
