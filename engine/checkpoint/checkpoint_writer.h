// checkpoint.async_save: saves through a snapshot in host memory that a background thread writes
// while training continues. Still atomic (the same temporary directory and renames as a
// synchronous save); a second save, and the end of the run, wait for the one in flight.
#pragma once

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/checkpoint/checkpoint.h"

namespace me {

class CheckpointWriter {
 public:
  explicit CheckpointWriter(bool async) : async_(async) {}
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;
  // Joins a save still in flight; its errors are logged (a destructor does not throw).
  ~CheckpointWriter();

  // Collective, like save_checkpoint. Synchronous unless async: then it returns once the tensors
  // are copied to host memory. With one rank the background thread also publishes the
  // checkpoint; with several, publishing needs every rank, so it happens at the next save() or
  // wait() on the main thread.
  void save(const std::string& root, const Recipe& recipe, const TrainingState& state,
            const std::vector<CheckpointGroup>& groups, const Topology& topology,
            Communicator& comm);
  // The same for one group reduced over the topology's data-parallel group.
  void save(const std::string& root, const Recipe& recipe, const TrainingState& state,
            ParamBuffers& buffers, Optimizer* optimizer, const Topology& topology,
            Communicator& comm);
  // Collective: finishes the save in flight (if any), rethrowing what failed in the background.
  void wait(Communicator& comm);

 private:
  bool async_;
  std::thread thread_;
  std::exception_ptr error_;
  std::optional<CheckpointSnapshot> pending_publish_;  // written, waiting for every rank
};

}  // namespace me
