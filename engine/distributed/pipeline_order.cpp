// Both schedules as Megatron writes them: warm-up forwards, then pairs (forward k + warm-up,
// backward k), then the remaining backwards.
#include "engine/distributed/pipeline_order.h"

#include <algorithm>

#include "engine/core/error.h"

namespace me {
namespace {

using Kind = PipelineAction::Kind;

std::vector<PipelineAction> one_f_one_b(int64_t pp, int64_t pp_rank, int64_t m, bool forward_only) {
  std::vector<PipelineAction> order;
  const int64_t warmup = pipeline_warmup_forwards(pp, pp_rank, 1, m, forward_only);
  for (int64_t i = 0; i < warmup; ++i) order.push_back({Kind::kForward, i, 0});
  for (int64_t i = 0; i < m - warmup; ++i) {
    order.push_back({Kind::kForward, i + warmup, 0});
    order.push_back({Kind::kBackward, i, 0});
  }
  if (forward_only) return order;
  for (int64_t i = m - warmup; i < m; ++i) order.push_back({Kind::kBackward, i, 0});
  return order;
}

// Megatron's get_model_chunk_id and get_microbatch_id_in_model_chunk.
PipelineAction virtual_action(int64_t k, Kind kind, int64_t pp, int64_t vpp) {
  const int64_t group = pp * vpp;
  int64_t chunk = (k % group) / pp;
  if (kind == Kind::kBackward) chunk = vpp - chunk - 1;
  return {kind, (k / group) * pp + k % pp, chunk};
}

std::vector<PipelineAction> interleaved(int64_t pp, int64_t pp_rank, int64_t vpp, int64_t m,
                                        bool forward_only) {
  ME_CHECK(m % pp == 0, "interleaved schedule of {} micro-batches over pp {}", m, pp);
  const int64_t total = m * vpp;
  const int64_t warmup = pipeline_warmup_forwards(pp, pp_rank, vpp, m, forward_only);
  std::vector<PipelineAction> order;
  for (int64_t k = 0; k < warmup; ++k) order.push_back(virtual_action(k, Kind::kForward, pp, vpp));
  if (forward_only) return order;
  for (int64_t k = 0; k < total - warmup; ++k) {
    order.push_back(virtual_action(k + warmup, Kind::kForward, pp, vpp));
    order.push_back(virtual_action(k, Kind::kBackward, pp, vpp));
  }
  for (int64_t k = total - warmup; k < total; ++k) {
    order.push_back(virtual_action(k, Kind::kBackward, pp, vpp));
  }
  return order;
}

}  // namespace

int64_t pipeline_warmup_forwards(int64_t pp, int64_t pp_rank, int64_t vpp, int64_t num_microbatches,
                                 bool forward_only) {
  const int64_t total = num_microbatches * vpp;
  if (forward_only) return total;
  if (vpp == 1) return std::min(pp - pp_rank - 1, num_microbatches);
  if (num_microbatches == pp) return total;
  return std::min((pp - pp_rank - 1) * 2 + (vpp - 1) * pp, total);
}

std::vector<PipelineAction> pipeline_order(int64_t pp, int64_t pp_rank, int64_t vpp,
                                           int64_t num_microbatches, bool forward_only) {
  ME_CHECK(pp >= 1 && pp_rank >= 0 && pp_rank < pp && vpp >= 1 && num_microbatches >= 1,
           "pipeline order for rank {} of pp {}, vpp {}, {} micro-batches", pp_rank, pp, vpp,
           num_microbatches);
  if (vpp == 1) return one_f_one_b(pp, pp_rank, num_microbatches, forward_only);
  return interleaved(pp, pp_rank, vpp, num_microbatches, forward_only);
}

}  // namespace me
