// Model's optional capabilities: what a model that does not provide them answers.
#include "engine/models/model.h"

#include "engine/core/error.h"

namespace me {

Tensor Model::logits(const Tensor& tokens, KvCache& cache) {
  throw Error("this model has no incremental (KV-cache) decoding", "model.type");
}

}  // namespace me
