// Rank-to-device placement and the choice between the host communicator and NCCL.
#include <fmt/format.h>

#include <cstdlib>
#include <utility>

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

Device rank_device(int64_t world_size, int64_t ranks_per_device) {
  const int64_t local = world_size > 1 ? launcher_local_rank() : 0;
  const int64_t index = local / ranks_per_device;
  const int count = cuda::device_count();
  if (index >= count) {
    throw Error(fmt::format("local rank {} at train.ranks_per_device {} needs CUDA device {} but "
                            "only {} are visible; start at most {} rank(s) per GPU on each node, "
                            "or raise train.ranks_per_device to share GPUs (slow: for trying a "
                            "layout)",
                            local, ranks_per_device, index, count, ranks_per_device),
                "train.ranks_per_device");
  }
  return Device::cuda(static_cast<int>(index));
}

ParallelGroups make_device_groups(const ParallelGroups& host, Device device,
                                  int64_t ranks_per_device, double timeout_seconds) {
  ParallelGroups nccl;
  if (!device.is_cuda() || ranks_per_device > 1) return nccl;
  using Slot = std::unique_ptr<Communicator>;
  // The same order on every rank: each NCCL initialisation is collective over its group.
  const std::pair<const Slot*, Slot*> groups[] = {{&host.tensor, &nccl.tensor},
                                                  {&host.data, &nccl.data},
                                                  {&host.pipeline, &nccl.pipeline},
                                                  {&host.embedding, &nccl.embedding}};
  for (const auto& [from, to] : groups) {
    if ((*from)->size() == 1) continue;
#ifdef ME_WITH_CUDA
    *to = make_nccl_communicator(**from, device.index);
    (*to)->set_timeout(timeout_seconds);
#else
    throw Error("CUDA tensors in a build without CUDA");
#endif
  }
  return nccl;
}

}  // namespace me
