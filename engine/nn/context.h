// Per-micro-batch activation context: what each module saves in forward for its backward. Owned
// by the caller (trainer, pipeline schedule), never by modules, so several micro-batches can be in
// flight and recompute is "drop the context, run forward again".
#pragma once

#include <any>
#include <cstdint>
#include <string_view>
#include <unordered_map>

#include "engine/core/device.h"
#include "engine/core/error.h"
#include "engine/core/philox.h"
#include "engine/core/tensor.h"

namespace me {

class KvCache;
class Module;

// Per-token facts of a micro-batch that layers past the embedding need; the model sets them
// before its layers run. Both (B, T) i32 on the model's device.
struct SequenceInfo {
  Tensor position_ids;  // RoPE angles (reset_position_ids restarts them)
  Tensor document_ids;  // optional: attention stays inside a document (reset_attention_mask)
  // Incremental decoding (engine/inference/kv_cache.h): attention reads and extends this cache.
  KvCache* kv_cache = nullptr;
};

class MicroBatchContext {
 public:
  MicroBatchContext(bool training, uint64_t seed, uint64_t iteration, uint64_t micro_batch)
      : training_(training), seed_(seed), iteration_(iteration), micro_batch_(micro_batch) {}

  bool training() const { return training_; }
  uint64_t seed() const { return seed_; }

  // Stream for a module's random numbers in this micro-batch (dropout masks).
  uint64_t rng_stream(std::string_view module_name) const {
    return me::rng_stream(module_name, iteration_, micro_batch_);
  }

  template <typename Saved>
  void save(const Module* module, Saved saved) {
    if (!training_) return;  // inference keeps nothing
    auto [it, inserted] = saved_.try_emplace(module, std::move(saved));
    ME_CHECK(inserted, "module saved twice in one micro-batch");
  }

  template <typename Saved>
  Saved take(const Module* module) {
    auto it = saved_.find(module);
    ME_CHECK(it != saved_.end(), "backward without a saved forward for this module");
    Saved out = std::any_cast<Saved>(std::move(it->second));
    saved_.erase(it);
    return out;
  }

  bool empty() const { return saved_.empty(); }

  void set_sequence(SequenceInfo sequence) { sequence_ = std::move(sequence); }
  const SequenceInfo& sequence() const { return sequence_; }

 private:
  bool training_;
  uint64_t seed_;
  uint64_t iteration_;
  uint64_t micro_batch_;
  std::unordered_map<const Module*, std::any> saved_;
  SequenceInfo sequence_;
};

}  // namespace me
