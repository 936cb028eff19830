// GPT's incremental inference: a step's real tokens take positions from the state's row lengths,
// and every attention layer reads and extends its KV cache in the state through the context's
// SequenceInfo.
#include "engine/models/gpt.h"

namespace me {

InferenceState GptModel::make_inference_state(int64_t batch, int64_t capacity) const {
  require_whole("inference");
  if (capacity > max_position_embeddings_) {
    throw Error(fmt::format("a state of {} positions exceeds max_position_embeddings {}", capacity,
                            max_position_embeddings_),
                "model.max_position_embeddings");
  }
  return InferenceState(batch, capacity);
}

Tensor GptModel::logits(const Tensor& tokens, std::span<const int64_t> step_lengths,
                        InferenceState& state) {
  ME_CHECK(tokens.ndim() == 2 && tokens.dim(0) == state.batch(),
           "tokens {} do not match a state of batch {}", tokens.describe(), state.batch());
  const int64_t b = tokens.dim(0), t = tokens.dim(1);
  state.begin_step({step_lengths.begin(), step_lengths.end()}, t);
  const Device dev = device();
  MicroBatchContext ctx(false, 0, 0, 0);
  SequenceInfo sequence{Tensor::from_vector(state.step_positions(), {b, t}, dev)};
  sequence.inference_state = &state;
  Tensor out = f32_logits(hidden_states(tokens.to(dev), std::move(sequence), ctx));
  state.end_step();
  return out;
}

}  // namespace me
