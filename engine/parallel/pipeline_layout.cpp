// Layer offsets as Megatron computes them: without interleaving rank p starts at p * L / pp (or
// after the first stage's layers with an uneven split); with vpp chunks of L / (pp vpp) layers,
// chunk c of rank p starts at c * L / vpp + p * L / (pp vpp).
#include "engine/parallel/pipeline_layout.h"

#include "engine/core/error.h"
#include "engine/recipe/recipe.h"

namespace me {
namespace {
thread_local const PipelineStage* current_stage = nullptr;
}  // namespace

PipelineLayout PipelineLayout::of(const Recipe& recipe) {
  const ParallelConfig& p = recipe.parallel;
  PipelineLayout layout;
  layout.num_layers = recipe.model.num_layers;
  layout.pp = p.pipeline_model_parallel_size;
  layout.first_layers = p.decoder_first_pipeline_num_layers;
  layout.last_layers = p.decoder_last_pipeline_num_layers;
  if (p.num_layers_per_virtual_pipeline_stage) {
    layout.vpp = layout.num_layers / layout.pp / *p.num_layers_per_virtual_pipeline_stage;
  }
  return layout;
}

LayerRange PipelineLayout::layers(int64_t pp_rank, int64_t chunk) const {
  ME_CHECK(pp_rank >= 0 && pp_rank < pp && chunk >= 0 && chunk < vpp,
           "pipeline rank {} chunk {} outside pp {} x vpp {}", pp_rank, chunk, pp, vpp);
  if (first_layers || last_layers) {
    ME_CHECK(vpp == 1, "uneven pipeline stages with {} virtual stages", vpp);
    const int64_t first = first_layers.value_or(0), last = last_layers.value_or(0);
    const int64_t middle_stages = pp - (first_layers ? 1 : 0) - (last_layers ? 1 : 0);
    const int64_t middle = middle_stages > 0 ? (num_layers - first - last) / middle_stages : 0;
    if (pp_rank == 0 && first_layers) return {0, first};
    if (pp_rank == pp - 1 && last_layers) return {num_layers - last, num_layers};
    const int64_t begin = first + (pp_rank - (first_layers ? 1 : 0)) * middle;
    return {begin, begin + middle};
  }
  const int64_t per_chunk = num_layers / (pp * vpp);
  ME_CHECK(per_chunk * pp * vpp == num_layers, "{} layers over pp {} x vpp {}", num_layers, pp,
           vpp);
  const int64_t begin = chunk * (num_layers / vpp) + pp_rank * per_chunk;
  return {begin, begin + per_chunk};
}

int64_t PipelineLayout::layers_on_rank(int64_t pp_rank) const {
  int64_t n = 0;
  for (int64_t c = 0; c < vpp; ++c) n += layers(pp_rank, c).size();
  return n;
}

PipelineStage PipelineStage::whole(int64_t num_layers) {
  PipelineStage stage;
  stage.chunks = {{0, num_layers}};
  return stage;
}

PipelineStage PipelineStage::of(const PipelineLayout& layout, int64_t pp_rank) {
  PipelineStage stage;
  stage.rank = pp_rank;
  stage.size = layout.pp;
  for (int64_t c = 0; c < layout.vpp; ++c) stage.chunks.push_back(layout.layers(pp_rank, c));
  return stage;
}

const PipelineStage* PipelineStage::current() { return current_stage; }

PipelineStageScope::PipelineStageScope(const PipelineStage& stage) : previous_(current_stage) {
  current_stage = &stage;
}

PipelineStageScope::~PipelineStageScope() { current_stage = previous_; }

}  // namespace me
