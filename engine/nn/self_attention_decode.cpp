// Self-attention over a KV cache: project and rotate only the step's tokens, append their keys and
// values to this layer's cache, and attend against everything cached up to each query's position.
#include <cmath>

#include "engine/inference/kv_cache.h"
#include "engine/nn/self_attention.h"
#include "kernels/decode_attention.h"

namespace me {

Tensor SelfAttention::forward_cached(const Tensor& x, MicroBatchContext& ctx) {
  KvCache& cache = *ctx.sequence().kv_cache;
  const int64_t b = x.dim(0), t = x.dim(1);
  const Heads h = split_heads(linear_qkv_.forward(x, ctx), ctx);
  KvCache::Entry& entry = cache.layer(this, num_query_groups_, kv_channels_, x.dtype(), x.device());
  kv_cache_write(h.k, h.v, entry.k, entry.v, cache.lengths());
  Tensor out = Tensor::empty(h.q.shape(), x.dtype(), x.device());
  decode_attention(h.q, entry.k, entry.v, cache.lengths(), out,
                   1.0 / std::sqrt(static_cast<double>(kv_channels_)));
  return linear_proj_.forward(out.reshape({b, t, num_heads_ * kv_channels_}), ctx);
}

}  // namespace me
