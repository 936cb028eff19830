// Self-attention over a KV cache: project and rotate only the step's tokens, append each row's real
// ones to this layer's cache, and attend against everything cached up to each query's position.
// A step into an empty state (a batched prefill) attends over its own keys with the training
// kernels, each row over its real tokens only (kv_lengths).
#include <cmath>

#include "engine/nn/kv_cache.h"
#include "engine/nn/self_attention.h"
#include "kernels/attention.h"
#include "kernels/decode_attention.h"

namespace me {

Tensor SelfAttention::forward_cached(const Tensor& x, MicroBatchContext& ctx) {
  InferenceState& state = *ctx.sequence().inference_state;
  const int64_t b = x.dim(0), t = x.dim(1);
  const Heads h = split_heads(linear_qkv_.forward(x, ctx), ctx);
  KvCache& cache = state.layer<KvCache>(*this, [&] {
    return KvCache(state.batch(), state.capacity(), num_query_groups_, kv_channels_, x.dtype(),
                   x.device());
  });
  cache.append(h.k, h.v, state);
  Tensor out = Tensor::empty(h.q.shape(), x.dtype(), x.device());
  if (state.empty()) {
    AttentionParams params = attention_params(ctx);
    std::vector<int32_t> real(state.step_lengths().begin(), state.step_lengths().end());
    params.kv_lengths = Tensor::from_vector(real, {b}, x.device());
    Tensor lse = Tensor::empty({b, num_heads_, t}, accum_dtype(x.dtype()), x.device());
    attention_forward(h.q, h.k, h.v, out, lse, params);
  } else {
    decode_attention(h.q, cache.keys(), cache.values(), state.lengths(), state.step_lengths(), out,
                     1.0 / std::sqrt(static_cast<double>(kv_channels_)));
  }
  return linear_proj_.forward(out.reshape({b, t, num_heads_ * kv_channels_}), ctx);
}

}  // namespace me
