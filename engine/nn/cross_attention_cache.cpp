// CrossAttentionCache: shapes checked once, when the layer builds it.
#include "engine/nn/cross_attention_cache.h"

namespace me {

CrossAttentionCache::CrossAttentionCache(Tensor keys, Tensor values, Tensor memory_lengths)
    : keys_(std::move(keys)),
      values_(std::move(values)),
      memory_lengths_(std::move(memory_lengths)) {
  ME_CHECK(
      keys_.ndim() == 4 && values_.shape() == keys_.shape() && values_.dtype() == keys_.dtype(),
      "cross-attention keys {} and values {} are not both (B, Tm, G, D)", keys_.describe(),
      values_.describe());
  ME_CHECK(memory_lengths_.dtype() == DType::kI32 && memory_lengths_.shape() == Shape{keys_.dim(0)},
           "memory_lengths {} is not (B) i32 for keys {}", memory_lengths_.describe(),
           keys_.describe());
}

}  // namespace me
