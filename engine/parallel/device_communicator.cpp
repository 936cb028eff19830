// Rank-to-device placement and the choice between the host communicator and NCCL.
#include <fmt/format.h>

#include <cstdlib>

#include "engine/core/allocator.h"
#include "engine/core/error.h"
#include "engine/parallel/nccl_communicator.h"

namespace me {

int64_t launcher_local_rank() {
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID"}) {
    if (const char* value = std::getenv(var)) return std::atoll(value);
  }
  return 0;
}

Device rank_device(int64_t world_size) {
  const int64_t local = world_size > 1 ? launcher_local_rank() : 0;
  const int count = cuda::device_count();
  if (local >= count) {
    throw Error(fmt::format("local rank {} but only {} CUDA device(s) are visible; start at "
                            "most one rank per GPU on each node",
                            local, count),
                "train.device");
  }
  return Device::cuda(static_cast<int>(local));
}

std::unique_ptr<Communicator> make_device_communicator(Communicator& host, Device device) {
  if (!device.is_cuda() || host.size() == 1) return nullptr;
#ifdef ME_WITH_CUDA
  return make_nccl_communicator(host, device.index);
#else
  throw Error("CUDA buffers in a build without CUDA");
#endif
}

}  // namespace me
