// ParamGatherer: per-bucket all-gathers started after the step, each waited on (and its model
// copy range cast) at the first forward use of the bucket.
#include "engine/distributed/param_gatherer.h"

#include <exception>

#include "engine/core/error.h"
#include "engine/nn/module.h"
#include "engine/distributed/bucket_collective.h"

namespace me {

ParamGatherer::ParamGatherer(ParamBuffers& buffers, Communicator& comm, const OptimizerShard& shard)
    : buffers_(buffers), comm_(comm), pending_(buffers.layout().buckets.size()) {
  ME_CHECK(shard.size > 1 && shard.size == comm.size(),
           "parameter gather over a shard of {} ranks in a group of {}", shard.size, comm.size());
}

ParamGatherer::~ParamGatherer() {
  if (std::uncaught_exceptions() == 0) wait_all();
}

void ParamGatherer::start() {
  ME_CHECK(in_flight_ == 0, "parameter gather started with {} buckets still in flight", in_flight_);
  // Last bucket first: buckets run in reverse forward order, so the forward's first modules
  // (the embedding, the first layers) get their parameters first (as Megatron orders them).
  const auto& buckets = buffers_.layout().buckets;
  for (size_t b = buckets.size(); b-- > 0;) {
    pending_[b] = start_bucket_collective(BucketOp::kAllGather, buffers_.params(), buckets[b].first,
                                          buckets[b].second, comm_);
    ++in_flight_;
  }
}

void ParamGatherer::wait_for(Module& module) {
  if (in_flight_ == 0) return;
  for (Parameter* p : module.parameters()) {
    const ParamSlot* slot = buffers_.slot(p->name);
    if (!slot) continue;  // another group's
    ME_CHECK(slot->param == p, "{} is not in the parameter buffer", p->name);
    wait_bucket(slot->bucket);
  }
}

void ParamGatherer::wait_all() {
  for (size_t b = pending_.size(); b-- > 0;) wait_bucket(static_cast<int64_t>(b));
}

void ParamGatherer::wait_bucket(int64_t b) {
  std::unique_ptr<PendingCollective>& pending = pending_[static_cast<size_t>(b)];
  if (!pending) return;
  pending->wait();
  pending.reset();
  --in_flight_;
  const auto [begin, end] = buffers_.layout().buckets[static_cast<size_t>(b)];
  buffers_.sync_model_params(begin, end);
}

}  // namespace me
