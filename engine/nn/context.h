// Per-micro-batch activation context: what each module saves in forward for its backward. Owned
// by the caller (trainer, pipeline schedule), never by modules, so several micro-batches can be in
// flight and recompute is "drop the context, run forward again" (engine/nn/recompute.h).
#pragma once

#include <algorithm>
#include <any>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/core/device.h"
#include "engine/core/error.h"
#include "engine/core/philox.h"
#include "engine/core/tensor.h"
#include "engine/nn/losses.h"
#include "engine/nn/saved_tensors.h"

namespace me {

class InferenceState;
class Module;

// Per-token facts of a micro-batch that layers past the embedding need; the model sets them
// before its layers run. (B, T) i32 on the model's device.
struct SequenceInfo {
  Tensor position_ids;  // RoPE angles (reset_position_ids restarts them)
  Tensor document_ids;  // optional: attention stays inside a document (reset_attention_mask)
  // Optional (B) i32: tokens t >= key_lengths[b] of sample b are padding no query attends to.
  Tensor key_lengths;
  // Optional (B, Tm, C): the other stream cross-attention layers read (an encoder's output);
  // their gradients with respect to it add up in the context (add_memory_grad).
  Tensor memory;
  // Incremental inference (engine/nn/inference_state.h): layers read and extend their state in it.
  InferenceState* inference_state = nullptr;
};

// Told as each module of a model's training micro-batch starts its forward and ends its backward
// (the embedding, each decoder layer, the final norm, the output layer): overlap_param_gather waits
// for a parameter bucket there, overlap_grad_reduce starts one
// (engine/distributed/data_parallel_overlap.h).
class ModuleObserver {
 public:
  virtual ~ModuleObserver() = default;
  virtual void before_forward(Module& module) = 0;
  virtual void after_backward(Module& module) = 0;
};

class MicroBatchContext {
 public:
  MicroBatchContext(bool training, uint64_t seed, uint64_t iteration, uint64_t micro_batch)
      : training_(training),
        seed_(seed),
        iteration_(iteration),
        micro_batch_(micro_batch),
        held_(std::make_shared<HeldBytes>()) {}
  MicroBatchContext(const MicroBatchContext&) = delete;
  MicroBatchContext& operator=(const MicroBatchContext&) = delete;
  MicroBatchContext(MicroBatchContext&& other) noexcept
      : training_(other.training_),
        seed_(other.seed_),
        iteration_(other.iteration_),
        micro_batch_(other.micro_batch_),
        keep_saved_(other.keep_saved_),
        replay_(other.replay_),
        held_(other.held_),
        shared_(other.shared_),
        saved_(std::move(other.saved_)),
        sequence_(std::move(other.sequence_)),
        observer_(other.observer_) {
    other.saved_.clear();
  }
  MicroBatchContext& operator=(MicroBatchContext&&) = delete;
  // Activations never taken (an abandoned micro-batch) stop counting as held.
  ~MicroBatchContext() {
    for (const auto& [module, entry] : saved_) {
      for (const Storage* s : entry.storages) held_->remove(s);
    }
  }

  bool training() const { return training_; }
  uint64_t seed() const { return seed_; }

  // Stream for a module's random numbers in this micro-batch (dropout masks).
  uint64_t rng_stream(std::string_view module_name) const {
    return me::rng_stream(module_name, iteration_, micro_batch_);
  }

  // A context with this one's random identity (seed, iteration, micro-batch: a re-run forward
  // draws the same dropout masks), sequence, losses and memory gradient, for running layers
  // apart. keep_saved = false drops every save (the first forward of layers whose activations will
  // be recomputed); keep_saved = true is that recomputation, a replay of a forward that already
  // ran, so the losses it adds are not counted again. Its saved bytes count in this context's
  // totals, so the peak includes recomputed activations.
  MicroBatchContext scratch(bool keep_saved) const {
    MicroBatchContext out(*this, keep_saved);
    out.replay_ = replay_ || keep_saved;
    out.sequence_.inference_state = nullptr;  // recompute is a training-time forward
    return out;
  }

  template <typename Saved>
  void save(const Module* module, Saved saved) {
    if (!training_ || !keep_saved_) return;  // inference keeps nothing
    std::vector<const Storage*> storages;
    for_each_saved_tensor(saved, [&](const Tensor& t) {
      if (t.defined()) storages.push_back(t.storage().get());
    });
    auto [it, inserted] = saved_.try_emplace(module, Entry{std::move(saved), storages});
    ME_CHECK(inserted, "module saved twice in one micro-batch");
    for (const Storage* s : storages) held_->add(s);
  }

  template <typename Saved>
  Saved take(const Module* module) {
    auto it = saved_.find(module);
    ME_CHECK(it != saved_.end(), "backward without a saved forward for this module");
    Saved out = std::any_cast<Saved>(std::move(it->second.value));
    for (const Storage* s : it->second.storages) held_->remove(s);
    saved_.erase(it);
    return out;
  }

  bool empty() const { return saved_.empty(); }

  // Bytes of the distinct storages that saved activations reference now, and the most since
  // construction (or reset_peak), over this context and its scratch contexts together.
  size_t saved_bytes() const { return held_->bytes; }
  size_t peak_saved_bytes() const { return held_->peak; }
  void reset_peak() { held_->peak = held_->bytes; }

  // Named losses (engine/nn/losses.h): a module adds its sums in forward; before backward the
  // trainer sets each one's gradient, d(objective) / d(sum), which the module reads.
  void add_loss(const std::string& name, double sum, double count) {
    if (!replay_) shared_->terms.add(name, sum, count);
  }
  const LossTerms& losses() const { return shared_->terms; }
  void set_loss_grad(const std::string& name, double grad) { shared_->grads[name] = grad; }
  double loss_grad(const std::string& name) const {
    auto it = shared_->grads.find(name);
    ME_CHECK(it != shared_->grads.end(), "backward of loss '{}' without its gradient", name);
    return it->second;
  }

  // d(objective) / d(sequence().memory), summed over every cross-attention layer's share.
  void add_memory_grad(const Tensor& grad);
  const Tensor& memory_grad() const { return shared_->memory_grad; }

  void set_sequence(SequenceInfo sequence) { sequence_ = std::move(sequence); }
  const SequenceInfo& sequence() const { return sequence_; }

  // Scratch contexts (recompute) tell the same observer; null: nobody listens.
  void set_observer(ModuleObserver* observer) { observer_ = observer; }
  void before_forward(Module& module) {
    if (observer_) observer_->before_forward(module);
  }
  void after_backward(Module& module) {
    if (observer_) observer_->after_backward(module);
  }

 private:
  struct Entry {
    std::any value;
    std::vector<const Storage*> storages;
  };

  // Reference counts per storage: views and modules sharing one buffer count it once.
  struct HeldBytes {
    std::unordered_map<const Storage*, int64_t> refs;
    size_t bytes = 0;
    size_t peak = 0;

    void add(const Storage* s) {
      if (refs[s]++ == 0) bytes += s->nbytes();
      peak = std::max(peak, bytes);
    }
    void remove(const Storage* s) {
      auto it = refs.find(s);
      ME_CHECK(it != refs.end(), "saved storage released twice");
      if (--it->second == 0) {
        bytes -= s->nbytes();
        refs.erase(it);
      }
    }
  };

  // What a context and its scratch contexts share besides the held bytes.
  struct Shared {
    LossTerms terms;
    std::unordered_map<std::string, double> grads;
    Tensor memory_grad;
  };

  MicroBatchContext(const MicroBatchContext& parent, bool keep_saved)
      : training_(parent.training_),
        seed_(parent.seed_),
        iteration_(parent.iteration_),
        micro_batch_(parent.micro_batch_),
        keep_saved_(keep_saved),
        replay_(parent.replay_),
        held_(parent.held_),
        shared_(parent.shared_),
        sequence_(parent.sequence_),
        observer_(parent.observer_) {}

  bool training_;
  uint64_t seed_;
  uint64_t iteration_;
  uint64_t micro_batch_;
  bool keep_saved_ = true;
  bool replay_ = false;
  std::shared_ptr<HeldBytes> held_;
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  std::unordered_map<const Module*, Entry> saved_;
  SequenceInfo sequence_;
  ModuleObserver* observer_ = nullptr;
};

}  // namespace me
