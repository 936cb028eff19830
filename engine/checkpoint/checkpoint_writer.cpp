// CheckpointWriter: snapshot on the caller's thread, shard (and with one rank the manifest and
// renames) on a background thread; errors travel back through an exception_ptr.
#include "engine/checkpoint/checkpoint_writer.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "engine/parallel/communicator.h"

namespace me {

CheckpointWriter::~CheckpointWriter() {
  if (!thread_.joinable()) return;
  thread_.join();
  if (!error_) return;
  try {
    std::rethrow_exception(error_);
  } catch (const std::exception& e) {
    spdlog::error("background checkpoint save failed: {}", e.what());
  }
}

void CheckpointWriter::save(const std::string& root, const Recipe& recipe,
                            const TrainingState& state, ParamBuffers& buffers, Optimizer* optimizer,
                            const Topology& topology, Communicator& comm) {
  save(root, recipe, state, {{&buffers, optimizer, topology.dp_rank}}, topology, comm);
}

void CheckpointWriter::save(const std::string& root, const Recipe& recipe,
                            const TrainingState& state, const std::vector<CheckpointGroup>& groups,
                            const Topology& topology, Communicator& comm) {
  if (!async_) {
    save_checkpoint(root, recipe, state, groups, topology, comm);
    return;
  }
  wait(comm);
  CheckpointSnapshot snapshot = snapshot_checkpoint(root, recipe, state, groups, topology, true);
  start_checkpoint(snapshot, comm);
  const bool publish_here = comm.size() == 1;
  if (!publish_here) pending_publish_ = snapshot;
  thread_ = std::thread([this, snapshot = std::move(snapshot), publish_here] {
    try {
      write_checkpoint_shard(snapshot);
      if (publish_here) finish_checkpoint(snapshot);
    } catch (...) {
      error_ = std::current_exception();
    }
  });
}

void CheckpointWriter::wait(Communicator& comm) {
  if (thread_.joinable()) thread_.join();
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  if (pending_publish_) {
    const CheckpointSnapshot snapshot = std::move(*pending_publish_);
    pending_publish_.reset();
    publish_checkpoint(snapshot, comm);
  }
}

}  // namespace me
