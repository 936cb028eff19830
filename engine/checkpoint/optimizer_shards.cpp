// Optimizer-state pieces: cut from the flat state by bucket shard, written with their placement,
// read back through the checkpoint index.
#include "engine/checkpoint/optimizer_shards.h"

#include <fmt/format.h>

#include <algorithm>

#include "engine/checkpoint/checkpoint_index.h"
#include "engine/optim/optimizer.h"
#include "engine/optim/param_buffers.h"

namespace me {

std::vector<OwnedPiece> owned_pieces(const ParamLayout& layout, const OptimizerShard& shard) {
  std::vector<OwnedPiece> out;
  for (const ParamSlot& slot : layout.slots) {
    const int64_t numel = slot.param->numel();
    if (numel == 0) continue;
    const auto [own_begin, own_end] = bucket_shard(layout, slot.bucket, shard);
    const int64_t begin = std::max(slot.offset, own_begin);
    const int64_t end = std::min(slot.offset + numel, own_end);
    if (begin >= end) continue;
    out.push_back({slot.param, begin - slot.offset, end - slot.offset,
                   shard_state_offset(layout, slot.bucket, shard) + (begin - own_begin)});
  }
  return out;
}

std::string optimizer_shard_file_name(const Topology& topology, int64_t dp_rank) {
  return fmt::format("optim_tp{:02d}_pp{:03d}_dp{:03d}.h5", topology.tp_rank, topology.pp_rank,
                     dp_rank);
}

std::string optimizer_dataset_name(const std::string& state, const std::string& param) {
  return "optimizer/" + state + "/" + param;
}

std::vector<StoredTensor> optimizer_piece_tensors(ParamBuffers& buffers, Optimizer& optimizer,
                                                  bool copy) {
  std::vector<StoredTensor> out;
  const std::vector<OwnedPiece> pieces = owned_pieces(buffers.layout(), optimizer.shard());
  for (const auto& [state, flat] : optimizer.state_buffers()) {
    for (const OwnedPiece& p : pieces) {
      const Tensor view = flat->view(p.state_begin, {p.end - p.begin});
      out.push_back({optimizer_dataset_name(state, p.param->name),
                     view.device().is_cpu() && copy ? view.clone() : view.to(Device::cpu()),
                     Placement{p.param->full_shape(), p.param->partition, p.begin, p.end}});
    }
  }
  return out;
}

void load_optimizer_state(CheckpointIndex& index, ParamBuffers& buffers, Optimizer& optimizer) {
  const std::vector<OwnedPiece> needed = owned_pieces(buffers.layout(), optimizer.shard());
  for (const auto& [state, flat] : optimizer.state_buffers()) {
    Tensor host = Tensor::zeros(flat->shape(), DType::kF32);
    for (const OwnedPiece& need : needed) {
      const Parameter& p = *need.param;
      index.read(optimizer_dataset_name(state, p.name),
                 Placement{p.full_shape(), p.partition, need.begin, need.end},
                 host.data<float>() + need.state_begin);
    }
    flat->copy_from(host.to(flat->device()));
  }
}

}  // namespace me
