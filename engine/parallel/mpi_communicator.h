// The MPI communicator for host memory: every collective is non-blocking underneath and polled
// against a deadline, carries a sequence number, and reports every rank's progress when it stalls.
#pragma once

#include <memory>

#include "engine/parallel/communicator.h"

namespace me {

// MPI_COMM_WORLD (initialising MPI if needed). Collective: every rank must call it.
std::unique_ptr<Communicator> make_mpi_communicator();

}  // namespace me
