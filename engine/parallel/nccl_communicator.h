// The communicator for CUDA tensors: float collectives through NCCL on device pointers, with the
// NCCL unique id shared over the host (MPI) communicator, which still serves host-memory
// collectives (loss sums, flags, barriers). Compiled only with CUDA.
#pragma once

#include <memory>

#include "engine/core/device.h"
#include "engine/parallel/communicator.h"
#include "engine/parallel/parallel_groups.h"

namespace me {

// The rank's local index on its node (OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID,
// MPI_LOCALRANKID); 0 without a launcher. One CUDA device per rank is chosen from it.
int64_t launcher_local_rank();

// The CUDA device a rank of a `world_size` job trains on: local rank / ranks_per_device (device 0
// when alone), which must name a visible device.
Device rank_device(int64_t world_size, int64_t ranks_per_device = 1);

// NCCL communicators over each of `host`'s groups that has more than one rank, when tensors live
// on CUDA and every rank has a GPU of its own (ranks_per_device 1: NCCL refuses two ranks on one
// GPU); null members otherwise, and CUDA tensors then pass through host memory and the host
// groups. A collective stalled past `timeout_seconds` ends the job. Collective over the world.
ParallelGroups make_device_groups(const ParallelGroups& host, Device device,
                                  int64_t ranks_per_device, double timeout_seconds);

#ifdef ME_WITH_CUDA
// Collective over `host`: rank 0 creates the NCCL unique id and broadcasts it.
std::unique_ptr<Communicator> make_nccl_communicator(Communicator& host, int device);
#endif

}  // namespace me
