// One float collective over a bucket [begin, end) of a flat parameter or gradient buffer: started
// in place when the communicator takes the buffer's memory, else staged through host memory.
#pragma once

#include <cstdint>
#include <memory>

#include "engine/core/tensor.h"
#include "engine/parallel/communicator.h"

namespace me {

enum class BucketOp { kAllReduceSum, kReduceScatterSum, kAllGather };

// Starts `op` on buffer[begin, end) and returns its handle. A CUDA buffer under a host
// communicator (MPI) is copied to the host, reduced there and copied back before this returns:
// such a handle is already complete.
std::unique_ptr<PendingCollective> start_bucket_collective(BucketOp op, Tensor& buffer,
                                                           int64_t begin, int64_t end,
                                                           Communicator& comm);

}  // namespace me
