// Model's optional capabilities: what a model that does not provide them answers.
#include "engine/models/model.h"

#include "engine/core/error.h"

namespace me {

Tensor Model::logits(const Tensor& tokens, KvCache& cache) {
  throw Error("this model has no incremental (KV-cache) decoding", "model.type");
}

ChunkOutput Model::forward_chunk(int64_t, const Batch&, const Tensor&, MicroBatchContext&) {
  throw Error("this model cannot be split into pipeline stages",
              "parallel.pipeline_model_parallel_size");
}

Tensor Model::backward_chunk(int64_t, double, const Tensor&, MicroBatchContext&) {
  throw Error("this model cannot be split into pipeline stages",
              "parallel.pipeline_model_parallel_size");
}

}  // namespace me
