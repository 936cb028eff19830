// GPT's incremental inference: the step's tokens take positions from the cache's row lengths, and
// every attention layer reads and extends the KV cache through the context's SequenceInfo.
#include "engine/inference/kv_cache.h"
#include "engine/models/gpt.h"

namespace me {

Tensor GptModel::logits(const Tensor& tokens, KvCache& cache) {
  ME_CHECK(tokens.ndim() == 2 && tokens.dim(0) == cache.batch(),
           "tokens {} do not match a cache of batch {}", tokens.describe(), cache.batch());
  const int64_t b = tokens.dim(0), t = tokens.dim(1);
  std::vector<int32_t> positions(static_cast<size_t>(b * t));
  for (int64_t bi = 0; bi < b; ++bi) {
    const int64_t start = cache.lengths()[bi];
    if (start + t > std::min(cache.capacity(), max_position_embeddings_)) {
      throw Error(fmt::format("{} tokens exceed the context of {} (max_position_embeddings {})",
                              start + t, cache.capacity(), max_position_embeddings_),
                  "model.max_position_embeddings");
    }
    for (int64_t i = 0; i < t; ++i) positions[bi * t + i] = static_cast<int32_t>(start + i);
  }
  const Device dev = device();
  MicroBatchContext ctx(false, 0, 0, 0);
  SequenceInfo sequence{Tensor::from_vector(positions, {b, t}, dev)};
  sequence.kv_cache = &cache;
  return f32_logits(hidden_states(tokens.to(dev), std::move(sequence), ctx));
}

}  // namespace me
