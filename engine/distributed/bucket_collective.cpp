// Bucket collectives: the in-place start, or the synchronous host round trip for CUDA buffers
// under a host communicator.
#include "engine/distributed/bucket_collective.h"

namespace me {
namespace {

std::unique_ptr<PendingCollective> start_on(BucketOp op, float* data, int64_t n,
                                            Communicator& comm) {
  switch (op) {
    case BucketOp::kAllReduceSum:
      return comm.start_all_reduce_sum(data, n);
    case BucketOp::kReduceScatterSum:
      return comm.start_reduce_scatter_sum(data, n);
    case BucketOp::kAllGather:
      return comm.start_all_gather(data, n);
  }
  ME_CHECK(false, "unknown bucket collective {}", static_cast<int>(op));
  return nullptr;
}

}  // namespace

std::unique_ptr<PendingCollective> start_bucket_collective(BucketOp op, Tensor& buffer,
                                                           int64_t begin, int64_t end,
                                                           Communicator& comm) {
  Tensor bucket = buffer.view(begin, {end - begin});
  if (bucket.device().is_cpu() || comm.takes_device_memory()) {
    return start_on(op, bucket.data<float>(), bucket.numel(), comm);
  }
  Tensor host = bucket.to(Device::cpu());
  auto pending = start_on(op, host.data<float>(), host.numel(), comm);
  pending->wait();
  bucket.copy_from(host.to(bucket.device()));
  return pending;
}

}  // namespace me
