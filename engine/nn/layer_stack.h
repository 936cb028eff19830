// A model's stack of layers (Megatron's TransformerBlock) as one pipeline rank holds it: the layers
// of the rank's chunks under their global names "<stack name>.<i>", each built by the model for
// its index (a hybrid pattern picks a type per layer), run chunk by chunk under full recompute
// while the context's observer hears each layer start its forward and end its backward.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/nn/module.h"
#include "engine/nn/recompute.h"
#include "engine/parallel/pipeline_layout.h"

namespace me {

class LayerStack final : public Module {
 public:
  // Builds layer `index` (global) under `name`.
  using LayerFactory =
      std::function<std::unique_ptr<Layer>(int64_t index, const std::string& name)>;

  // `chunks`: this rank's layer ranges, in the order its chunks run.
  LayerStack(const std::string& name, const std::vector<LayerRange>& chunks,
             const FullRecompute& recompute, const LayerFactory& make_layer);

  size_t num_chunks() const { return chunks_.size(); }
  Tensor forward(size_t chunk, const Tensor& x, MicroBatchContext& ctx);
  Tensor backward(size_t chunk, const Tensor& dy, MicroBatchContext& ctx);
  // Chunk `chunk`'s layers under its recompute setting (RecomputedLayers::cost).
  ModuleCost chunk_cost(size_t chunk, const CostQuery& query) const;

 private:
  std::vector<std::unique_ptr<Layer>> layers_;
  std::deque<RecomputedLayers> chunks_;  // deque: stable addresses
};

}  // namespace me
