// KvCache: the cache write is kernels/decode_attention.h's, per row and any device.
#include "engine/nn/kv_cache.h"

#include "kernels/decode_attention.h"

namespace me {

KvCache::KvCache(int64_t batch, int64_t capacity, int64_t groups, int64_t head_dim, DType dtype,
                 Device device)
    : keys_(Tensor::zeros({batch, capacity, groups, head_dim}, dtype, device)),
      values_(Tensor::zeros({batch, capacity, groups, head_dim}, dtype, device)) {}

void KvCache::append(const Tensor& k, const Tensor& v, const InferenceState& state) {
  ME_CHECK(keys_.dim(0) == state.batch() && keys_.dim(1) == state.capacity(),
           "a KV cache {} read with a state of batch {} and capacity {}", keys_.describe(),
           state.batch(), state.capacity());
  kv_cache_write(k, v, keys_, values_, state.lengths(), state.step_lengths());
}

}  // namespace me
