// Self-attention over a KV cache: project and rotate only the step's tokens, append their keys and
// values to this layer's cache, and attend against everything cached up to each query's position.
#include <cmath>

#include "engine/inference/kv_cache.h"
#include "engine/nn/self_attention.h"
#include "kernels/attention.h"
#include "kernels/decode_attention.h"

namespace me {

Tensor SelfAttention::forward_cached(const Tensor& x, MicroBatchContext& ctx) {
  KvCache& cache = *ctx.sequence().kv_cache;
  const int64_t b = x.dim(0), t = x.dim(1);
  const Tensor qkv = linear_qkv_.forward(x, ctx);
  Tensor q = Tensor::empty({b, t, num_heads_, kv_channels_}, x.dtype(), x.device());
  Tensor k = Tensor::empty({b, t, num_query_groups_, kv_channels_}, x.dtype(), x.device());
  Tensor v = Tensor::empty({b, t, num_query_groups_, kv_channels_}, x.dtype(), x.device());
  split_qkv_forward(qkv, q, k, v);
  if (q_layernorm_) {
    q = q_layernorm_->forward(q, ctx);
    k = k_layernorm_->forward(k, ctx);
  }
  if (rotary_) {
    const Tensor& positions = ctx.sequence().position_ids;
    ME_CHECK(positions.defined(), "{}: RoPE needs the step's position_ids", name());
    rotary_->forward(q, positions);
    rotary_->forward(k, positions);
  }
  KvCache::Entry& entry = cache.layer(this, num_query_groups_, kv_channels_, x.dtype(), x.device());
  kv_cache_write(k, v, entry.k, entry.v, cache.lengths());
  Tensor out = Tensor::empty(q.shape(), x.dtype(), x.device());
  decode_attention(q, entry.k, entry.v, cache.lengths(), out,
                   1.0 / std::sqrt(static_cast<double>(kv_channels_)));
  return linear_proj_.forward(out.reshape({b, t, num_heads_ * kv_channels_}), ctx);
}

}  // namespace me
