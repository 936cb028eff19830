// The whole-model pass, derived from the chunks: one definition of forward and backward for
// every model, with or without pipeline parallelism.
#include "engine/models/model.h"

#include "engine/core/error.h"

namespace me {

namespace {
void require_whole(const Model& model) {
  if (!model.chunk_inputs(0).empty() || !model.chunk_outputs(model.num_chunks() - 1).empty()) {
    throw Error("a whole-model pass needs the whole model; this rank holds one pipeline stage",
                "parallel.pipeline_model_parallel_size");
  }
}
}  // namespace

void Model::forward(const Batch& batch, MicroBatchContext& ctx) {
  require_whole(*this);
  NamedTensors x;
  for (int64_t c = 0; c < num_chunks(); ++c) x = forward_chunk(c, batch, x, ctx);
}

void Model::backward(MicroBatchContext& ctx) {
  NamedTensors d;
  for (int64_t c = num_chunks(); c-- > 0;) d = backward_chunk(c, d, ctx);
}

}  // namespace me
