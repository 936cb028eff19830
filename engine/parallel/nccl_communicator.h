// The communicator for CUDA tensors: float collectives through NCCL on device pointers, with the
// NCCL unique id shared over the host (MPI) communicator, which still serves host-memory
// collectives (loss sums, flags, barriers). Compiled only with CUDA.
#pragma once

#include <memory>

#include "engine/core/device.h"
#include "engine/parallel/communicator.h"

namespace me {

// The rank's local index on its node (OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID,
// MPI_LOCALRANKID); 0 without a launcher. One CUDA device per rank is chosen from it.
int64_t launcher_local_rank();

// The CUDA device a rank of a `world_size` job trains on: its local rank (device 0 when alone),
// which must name a visible device.
Device rank_device(int64_t world_size);

// A NCCL communicator over `host`'s ranks on `device` when the gradient buffers live on CUDA and
// there is more than one rank; nullptr otherwise (the host communicator serves). Collective.
std::unique_ptr<Communicator> make_device_communicator(Communicator& host, Device device);

#ifdef ME_WITH_CUDA
// Collective over `host`: rank 0 creates the NCCL unique id and broadcasts it.
std::unique_ptr<Communicator> make_nccl_communicator(Communicator& host, int device);
#endif

}  // namespace me
