// What a model keeps between the incremental steps of one batch of sequences: each row's length,
// the running step's real tokens per row, the memory stream, and each layer's own state (a growing
// KV cache, a fixed-size recurrent state, a cross-attention cache), keyed by layer.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/tensor.h"

namespace me {

class Module;

// One layer's state across steps (engine/nn/kv_cache.h, recurrent_state.h,
// cross_attention_cache.h).
class LayerState {
 public:
  virtual ~LayerState() = default;
};

class InferenceState {
 public:
  // `batch` rows of up to `capacity` positions each.
  InferenceState(int64_t batch, int64_t capacity);

  int64_t batch() const { return batch_; }
  int64_t capacity() const { return capacity_; }

  // Tokens each row has taken in: the step's token i of row b sits at position lengths()[b] + i.
  const std::vector<int64_t>& lengths() const { return lengths_; }
  // No row holds a token yet: a step's own tokens are all there is to attend to.
  bool empty() const;

  // Row b's first step_lengths()[b] tokens of the running step are real; the rest is padding,
  // which no layer writes into its state or lets a real token attend to. A step of zero tokens
  // leaves a row as it was (a finished row of a batch).
  const std::vector<int64_t>& step_lengths() const { return step_lengths_; }
  // Starts a step of `step_tokens` tokens per row (B, Tn) with these real counts; me::Error naming
  // step_lengths for a count outside [0, Tn] or a row that would pass the capacity.
  void begin_step(std::vector<int64_t> step_lengths, int64_t step_tokens);
  // Ends it: every row advances by its step length.
  void end_step();
  // (B, Tn) positions of the running step's tokens: lengths()[b] + i for real ones, 0 (a valid
  // index whose results nothing reads) for padding.
  std::vector<int32_t> step_positions() const;

  // The other stream cross-attention layers read (an encoder's output (B, Tm, C)), with its
  // per-row lengths memory_lengths (B) i32: positions past them are padding. Set once, before the
  // first step.
  void set_memory(Tensor memory, Tensor memory_lengths);
  const Tensor& memory() const { return memory_; }
  const Tensor& memory_lengths() const { return memory_lengths_; }

  // Layer `owner`'s state of type State: made by `make()` (returning a State) on first use, the
  // same object on every later step.
  template <typename State, typename Make>
  State& layer(const Module& owner, Make&& make) {
    auto it = layers_.find(&owner);
    if (it == layers_.end()) {
      it = layers_.emplace(&owner, std::make_unique<State>(make())).first;
    }
    auto* state = dynamic_cast<State*>(it->second.get());
    ME_CHECK(state != nullptr, "a layer asked for a state of another type than it holds");
    return *state;
  }

 private:
  int64_t batch_;
  int64_t capacity_;
  std::vector<int64_t> lengths_;
  std::vector<int64_t> step_lengths_;
  int64_t step_tokens_ = 0;
  bool in_step_ = false;
  Tensor memory_;
  Tensor memory_lengths_;
  std::unordered_map<const Module*, std::unique_ptr<LayerState>> layers_;
};

}  // namespace me
