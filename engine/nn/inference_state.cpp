// InferenceState: the per-row bookkeeping of steps; layer states are made by their layers.
#include "engine/nn/inference_state.h"

#include <algorithm>

#include <fmt/format.h>

namespace me {

InferenceState::InferenceState(int64_t batch, int64_t capacity)
    : batch_(batch),
      capacity_(capacity),
      lengths_(static_cast<size_t>(std::max<int64_t>(batch, 0)), 0) {
  if (batch < 1) throw Error(fmt::format("must be at least 1, got {}", batch), "batch");
  if (capacity < 1) throw Error(fmt::format("must be at least 1, got {}", capacity), "capacity");
}

bool InferenceState::empty() const {
  return std::all_of(lengths_.begin(), lengths_.end(), [](int64_t n) { return n == 0; });
}

void InferenceState::begin_step(std::vector<int64_t> step_lengths, int64_t step_tokens) {
  ME_CHECK(!in_step_, "a step began before the last one ended");
  if (static_cast<int64_t>(step_lengths.size()) != batch_) {
    throw Error(fmt::format("{} lengths for a batch of {}", step_lengths.size(), batch_),
                "step_lengths");
  }
  for (int64_t b = 0; b < batch_; ++b) {
    const int64_t n = step_lengths[b];
    if (n < 0 || n > step_tokens) {
      throw Error(fmt::format("row {} has {} real tokens in a step of {}", b, n, step_tokens),
                  "step_lengths");
    }
    if (lengths_[b] + n > capacity_) {
      throw Error(fmt::format("row {} would hold {} tokens; the state holds {}", b, lengths_[b] + n,
                              capacity_),
                  "step_lengths");
    }
  }
  step_lengths_ = std::move(step_lengths);
  step_tokens_ = step_tokens;
  in_step_ = true;
}

std::vector<int32_t> InferenceState::step_positions() const {
  ME_CHECK(in_step_, "positions asked for outside a step");
  std::vector<int32_t> positions(static_cast<size_t>(batch_ * step_tokens_), 0);
  for (int64_t b = 0; b < batch_; ++b) {
    for (int64_t i = 0; i < step_lengths_[b]; ++i) {
      positions[b * step_tokens_ + i] = static_cast<int32_t>(lengths_[b] + i);
    }
  }
  return positions;
}

void InferenceState::end_step() {
  ME_CHECK(in_step_, "a step ended that never began");
  for (int64_t b = 0; b < batch_; ++b) lengths_[b] += step_lengths_[b];
  in_step_ = false;
}

void InferenceState::set_memory(Tensor memory, Tensor memory_lengths) {
  ME_CHECK(memory.ndim() == 3 && memory.dim(0) == batch_, "memory {} is not (B = {}, Tm, C)",
           memory.describe(), batch_);
  ME_CHECK(memory_lengths.dtype() == DType::kI32 && memory_lengths.shape() == Shape{batch_},
           "memory_lengths {} is not (B = {}) i32", memory_lengths.describe(), batch_);
  memory_ = std::move(memory);
  memory_lengths_ = std::move(memory_lengths);
}

}  // namespace me
