// GradReducer: per-bucket all-reduce or reduce-scatter through the Communicator's started
// collectives, each bucket started once its parameters' gradients are final or at finish().
#include "engine/distributed/grad_reducer.h"

#include <algorithm>

#include "engine/nn/module.h"
#include "engine/distributed/bucket_collective.h"
#include "engine/recipe/recipe.h"
#include "kernels/elementwise.h"

namespace me {

ParamLayoutOptions data_parallel_layout_options(const Recipe& recipe, int64_t data_parallel_size) {
  ParamLayoutOptions options;
  options.data_parallel_size = data_parallel_size;
  if (recipe.parallel.ddp_bucket_size) {
    options.bucket_elems = *recipe.parallel.ddp_bucket_size;
  } else if (recipe.parallel.overlap_grad_reduce) {
    options.bucket_elems = std::max<int64_t>(40000000, 1000000 * data_parallel_size);
  } else {
    options.bucket_elems = 0;
  }
  return options;
}

ParamLayoutOptions data_parallel_layout_options(const Recipe& recipe, const Topology& topology) {
  return data_parallel_layout_options(recipe, topology.dp);
}

GradReducer::GradReducer(ParamBuffers& buffers, Communicator& comm, const OptimizerShard& shard)
    : buffers_(buffers),
      comm_(comm),
      shard_(shard),
      buckets_(buffers.layout().buckets.size()),
      slot_final_(buffers.layout().slots.size(), 0) {
  ME_CHECK(shard.size == 1 || shard.size == comm.size(),
           "optimizer shard over {} ranks but the data-parallel group has {}", shard.size,
           comm.size());
  for (const ParamSlot& slot : buffers.layout().slots) {
    ++buckets_[static_cast<size_t>(slot.bucket)].params;
  }
}

const ParamSlot& GradReducer::slot_of(const Parameter& param) const {
  const ParamSlot* slot = buffers_.slot(param.name);
  ME_CHECK(slot && slot->param == &param, "{} is not in the gradient buffer", param.name);
  return *slot;
}

void GradReducer::grads_final(Module& module) {
  const ParamSlot* first = buffers_.layout().slots.data();
  for (Parameter* p : module.parameters()) {
    if (!buffers_.slot(p->name)) continue;  // another group's
    const ParamSlot& slot = slot_of(*p);
    char& final = slot_final_[static_cast<size_t>(&slot - first)];
    if (final) continue;
    final = 1;
    const int64_t b = slot.bucket;
    Bucket& bucket = buckets_[static_cast<size_t>(b)];
    if (++bucket.final == bucket.params && !bucket.held && !bucket.started) start(b);
  }
  // MPI advances a started collective only inside MPI calls: give the earlier buckets a turn.
  for (Bucket& bucket : buckets_) {
    if (bucket.pending) bucket.pending->ready();
  }
}

void GradReducer::hold_until_finish(const Parameter& param) {
  buckets_[static_cast<size_t>(slot_of(param).bucket)].held = true;
}

void GradReducer::bucket_ready(int64_t bucket) {
  ME_CHECK(bucket >= 0 && bucket < static_cast<int64_t>(buckets_.size()), "bucket {} of {}", bucket,
           buckets_.size());
  ME_CHECK(!buckets_[static_cast<size_t>(bucket)].started, "bucket {} reported ready twice",
           bucket);
  start(bucket);
}

void GradReducer::wait_started() {
  for (size_t b = 0; b < buckets_.size(); ++b) {
    if (buckets_[b].started) complete(static_cast<int64_t>(b));
  }
}

void GradReducer::finish() {
  for (size_t b = 0; b < buckets_.size(); ++b) {
    if (!buckets_[b].started) start(static_cast<int64_t>(b));
  }
  for (size_t b = 0; b < buckets_.size(); ++b) complete(static_cast<int64_t>(b));
  reset();
}

void GradReducer::abandon() {
  wait_started();
  reset();
}

void GradReducer::reset() {
  for (Bucket& bucket : buckets_) {
    bucket.final = 0;
    bucket.started = false;
    bucket.completed = false;
  }
  std::fill(slot_final_.begin(), slot_final_.end(), 0);
}

void GradReducer::start(int64_t b) {
  Bucket& bucket = buckets_[static_cast<size_t>(b)];
  bucket.started = true;
  ++buckets_reduced_;
  if (comm_.size() == 1) return;
  const auto [begin, end] = buffers_.layout().buckets[static_cast<size_t>(b)];
  const BucketOp op = shard_.size == 1 ? BucketOp::kAllReduceSum : BucketOp::kReduceScatterSum;
  bucket.pending = start_bucket_collective(op, buffers_.grads(), begin, end, comm_);
}

void GradReducer::complete(int64_t b) {
  Bucket& bucket = buckets_[static_cast<size_t>(b)];
  if (bucket.completed) return;
  bucket.completed = true;
  if (bucket.pending) {
    bucket.pending->wait();
    bucket.pending.reset();
  }
  if (shard_.size == 1 || comm_.size() == 1) return;
  // Outside the shard the buffer holds unreduced partial sums: zero it, so norms, finiteness
  // checks and clipping over the whole buffer see only this rank's reduced shard.
  const auto [begin, end] = buffers_.layout().buckets[static_cast<size_t>(b)];
  const auto [own_begin, own_end] = bucket_shard(buffers_.layout(), b, shard_);
  Tensor& grads = buffers_.grads();
  if (own_begin > begin) grads.view(begin, {own_begin - begin}).zero_();
  if (end > own_end) grads.view(own_end, {end - own_end}).zero_();
}

bool GradReducer::all_finite() {
  double bad = me::all_finite(buffers_.grads()) ? 0.0 : 1.0;
  if (shard_.size > 1) comm_.all_reduce_max(&bad, 1);
  return bad == 0.0;
}

void all_gather_param_shards(ParamBuffers& buffers, Communicator& comm,
                             const OptimizerShard& shard) {
  if (shard.size == 1) return;
  for (const auto& [begin, end] : buffers.layout().buckets) {
    start_bucket_collective(BucketOp::kAllGather, buffers.params(), begin, end, comm)->wait();
  }
}

}  // namespace me
