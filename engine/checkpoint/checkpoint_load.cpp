// Loading: parameters and optimizer state of every group read by name and placement (versions 2
// and 3) or from the rank's own shard (version 1).
#include "engine/checkpoint/checkpoint.h"

#include <algorithm>

#include "engine/checkpoint/checkpoint_index.h"
#include "engine/checkpoint/optimizer_shards.h"
#include "engine/optim/optimizer.h"
#include "engine/optim/param_buffers.h"

namespace me {

void load_checkpoint(const CheckpointManifest& manifest, const std::vector<CheckpointGroup>& groups,
                     const Topology& topology) {
  const bool with_optimizer = std::any_of(groups.begin(), groups.end(),
                                          [](const CheckpointGroup& g) { return g.optimizer; });
  if (with_optimizer && !manifest.has_optimizer) {
    throw Error(
        "checkpoint holds no optimizer state (saved with no_save_optim); set "
        "checkpoint.no_load_optim or checkpoint.finetune",
        manifest.directory);
  }
  if (manifest.format_version == 1) {
    for (const CheckpointGroup& g : groups) {
      load_checkpoint_v1(manifest, *g.buffers, g.optimizer, topology);
    }
  } else {
    CheckpointIndex index(checkpoint_shard_paths(manifest));
    for (const CheckpointGroup& g : groups) {
      for (Parameter* p : g.buffers->parameters()) {
        Tensor host = Tensor::empty(p->shape, DType::kF32);
        index.read("model/" + p->name, Placement::whole(p->full_shape(), p->partition),
                   host.data<float>());
        p->main.copy_from(host.to(p->main.device()));
      }
      g.buffers->sync_model_params();
      if (g.optimizer) load_optimizer_state(index, *g.buffers, *g.optimizer);
    }
  }
  for (const CheckpointGroup& g : groups) {
    if (g.optimizer) g.optimizer->set_step_count(manifest.state.optimizer_steps);
  }
}

void load_checkpoint(const CheckpointManifest& manifest, ParamBuffers& buffers,
                     Optimizer* optimizer, const Topology& topology) {
  load_checkpoint(manifest, {{&buffers, optimizer, topology.dp_rank}}, topology);
}

}  // namespace me
