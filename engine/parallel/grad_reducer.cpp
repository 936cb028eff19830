// GradReducer: per-bucket all-reduce or reduce-scatter through the Communicator, staging CUDA
// buckets through host memory when the communicator takes host pointers (MPI).
#include "engine/parallel/grad_reducer.h"

#include <algorithm>
#include <cmath>

#include "engine/optim/grad_clip.h"
#include "engine/recipe/recipe.h"
#include "kernels/elementwise.h"

namespace me {
namespace {

// Runs `collective` on bucket [begin, end) of `buffer`, through a host copy when needed.
template <typename Collective>
void on_bucket(Tensor& buffer, int64_t begin, int64_t end, Communicator& comm,
               Collective collective) {
  Tensor bucket = buffer.view(begin, {end - begin});
  if (bucket.device().is_cpu() || comm.takes_device_memory()) {
    collective(bucket.data<float>(), bucket.numel());
    return;
  }
  Tensor host = bucket.to(Device::cpu());
  collective(host.data<float>(), host.numel());
  bucket.copy_from(host.to(bucket.device()));
}

}  // namespace

ParamLayoutOptions data_parallel_layout_options(const Recipe& recipe, const Topology& topology) {
  ParamLayoutOptions options;
  options.data_parallel_size = topology.dp;
  if (recipe.parallel.ddp_bucket_size) {
    options.bucket_elems = *recipe.parallel.ddp_bucket_size;
  } else if (recipe.parallel.overlap_grad_reduce) {
    options.bucket_elems = std::max<int64_t>(40000000, 1000000 * topology.dp);
  } else {
    options.bucket_elems = 0;
  }
  return options;
}

GradReducer::GradReducer(ParamBuffers& buffers, Communicator& comm, const OptimizerShard& shard)
    : buffers_(buffers),
      comm_(comm),
      shard_(shard),
      reduced_(buffers.layout().buckets.size(), false) {
  ME_CHECK(shard.size == 1 || shard.size == comm.size(),
           "optimizer shard over {} ranks but the data-parallel group has {}", shard.size,
           comm.size());
}

void GradReducer::bucket_ready(int64_t bucket) {
  ME_CHECK(!reduced_.at(static_cast<size_t>(bucket)), "bucket {} reported ready twice", bucket);
  reduce(bucket);
  reduced_[static_cast<size_t>(bucket)] = true;
}

void GradReducer::finish() {
  for (size_t b = 0; b < reduced_.size(); ++b) {
    if (!reduced_[b]) reduce(static_cast<int64_t>(b));
  }
  std::fill(reduced_.begin(), reduced_.end(), false);
}

void GradReducer::reduce(int64_t b) {
  ++buckets_reduced_;
  if (comm_.size() == 1) return;
  const auto [begin, end] = buffers_.layout().buckets[static_cast<size_t>(b)];
  Tensor& grads = buffers_.grads();
  if (shard_.size == 1) {
    on_bucket(grads, begin, end, comm_,
              [&](float* data, int64_t n) { comm_.all_reduce_sum(data, n); });
    return;
  }
  on_bucket(grads, begin, end, comm_,
            [&](float* data, int64_t n) { comm_.reduce_scatter_sum(data, n); });
  // Outside the shard the buffer holds unreduced partial sums: zero it, so norms, finiteness
  // checks and clipping over the whole buffer see only this rank's reduced shard.
  const auto [own_begin, own_end] = bucket_shard(buffers_.layout(), b, shard_);
  if (own_begin > begin) grads.view(begin, {own_begin - begin}).zero_();
  if (end > own_end) grads.view(own_end, {end - own_end}).zero_();
}

double GradReducer::grad_norm() {
  double sum_of_squares = grad_sum_of_squares(buffers_);
  if (shard_.size > 1) comm_.all_reduce_sum(&sum_of_squares, 1);
  return std::sqrt(sum_of_squares);
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
    on_bucket(buffers.params(), begin, end, comm,
              [&](float* data, int64_t n) { comm.all_gather(data, n); });
  }
}

}  // namespace me
