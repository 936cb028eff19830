// Layer stack: each chunk's layers built in order, then handed to that chunk's recompute runner.
#include "engine/nn/layer_stack.h"

namespace me {

LayerStack::LayerStack(const std::string& name, const std::vector<LayerRange>& chunks,
                       const FullRecompute& recompute, const LayerFactory& make_layer)
    : Module(name) {
  for (const LayerRange& range : chunks) {
    std::vector<Layer*> chunk;
    for (int64_t i = range.begin; i < range.end; ++i) {
      layers_.push_back(make_layer(i, child_name(std::to_string(i))));
      add_child(*layers_.back());
      chunk.push_back(layers_.back().get());
    }
    chunks_.emplace_back(recompute, std::move(chunk));
  }
}

Tensor LayerStack::forward(size_t chunk, const Tensor& x, MicroBatchContext& ctx) {
  ME_CHECK(chunk < chunks_.size(), "{}: chunk {} of {}", name(), chunk, chunks_.size());
  return chunks_[chunk].forward(x, ctx);
}

Tensor LayerStack::backward(size_t chunk, const Tensor& dy, MicroBatchContext& ctx) {
  ME_CHECK(chunk < chunks_.size(), "{}: chunk {} of {}", name(), chunk, chunks_.size());
  return chunks_[chunk].backward(dy, ctx);
}

ModuleCost LayerStack::chunk_cost(size_t chunk, const CostQuery& query) const {
  ME_CHECK(chunk < chunks_.size(), "{}: chunk {} of {}", name(), chunk, chunks_.size());
  return chunks_[chunk].cost(query);
}

}  // namespace me
