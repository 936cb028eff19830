// The order in which one pipeline rank runs its forward and backward passes (Megatron's
// schedules.py): 1F1B without interleaving (warm-up forwards, steady one-forward-one-backward,
// cool-down backwards) and interleaved 1F1B over virtual chunks. Pure arithmetic, so the order
// is unit-tested apart from any communication.
#pragma once

#include <cstdint>
#include <vector>

namespace me {

struct PipelineAction {
  enum class Kind { kForward, kBackward };
  Kind kind = Kind::kForward;
  int64_t microbatch = 0;
  int64_t chunk = 0;  // this rank's virtual chunk: model stage chunk * pp + pp_rank

  bool forward() const { return kind == Kind::kForward; }
  bool operator==(const PipelineAction&) const = default;
};

// Every forward (and, unless forward_only, backward) of `num_microbatches` micro-batches over
// `vpp` chunks on rank `pp_rank` of `pp`, in Megatron's order. Non-interleaved (vpp 1): warm-up
// min(pp - rank - 1, m) forwards. Interleaved: virtual micro-batch k runs chunk
// (k mod pp vpp) / pp (reversed for backward) on micro-batch (k / (pp vpp)) pp + k mod pp, with
// (pp - rank - 1) * 2 + (vpp - 1) * pp warm-up forwards (all of them when m == pp); needs
// m % pp == 0 (the recipe rules check it).
// How many forwards open that order before the steady one-forward-one-backward pairs (all of them
// when forward_only).
int64_t pipeline_warmup_forwards(int64_t pp, int64_t pp_rank, int64_t vpp, int64_t num_microbatches,
                                 bool forward_only);

std::vector<PipelineAction> pipeline_order(int64_t pp, int64_t pp_rank, int64_t vpp,
                                           int64_t num_microbatches, bool forward_only);

}  // namespace me
