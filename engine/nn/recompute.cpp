// Checkpointed spans: forward in a context that keeps nothing, backward re-runs forward in a
// scratch context that keeps everything, then takes it apart in reverse.
#include "engine/nn/recompute.h"

#include <algorithm>

namespace me {

namespace {
struct CheckpointInput {
  Tensor input;
};
}  // namespace

std::vector<RecomputeChunk> recompute_chunks(const FullRecompute& recompute, size_t num_layers) {
  if (recompute.method.empty()) return {{0, num_layers, false}};
  ME_CHECK(recompute.num_layers > 0, "full recompute of {} layers", recompute.num_layers);
  const auto n = static_cast<size_t>(recompute.num_layers);
  std::vector<RecomputeChunk> chunks;
  if (recompute.method == "uniform") {
    for (size_t begin = 0; begin < num_layers; begin += n) {
      chunks.push_back({begin, std::min(begin + n, num_layers), true});
    }
    return chunks;
  }
  ME_CHECK(recompute.method == "block", "recompute_method '{}'", recompute.method);
  const size_t recomputed = std::min(n, num_layers);
  for (size_t i = 0; i < recomputed; ++i) chunks.push_back({i, i + 1, true});
  if (recomputed < num_layers) chunks.push_back({recomputed, num_layers, false});
  return chunks;
}

Tensor checkpointed_forward(const Module& key, std::span<Layer* const> layers, const Tensor& x,
                            MicroBatchContext& ctx) {
  if (!ctx.training()) {
    Tensor h = x;
    for (Layer* layer : layers) h = layer->forward(h, ctx);
    return h;
  }
  ctx.save(&key, CheckpointInput{x});
  MicroBatchContext discard = ctx.scratch(false);
  Tensor h = x;
  for (Layer* layer : layers) {
    discard.before_forward(*layer);
    h = layer->forward(h, discard);
  }
  return h;
}

Tensor checkpointed_backward(const Module& key, std::span<Layer* const> layers, const Tensor& dy,
                             MicroBatchContext& ctx) {
  MicroBatchContext redo = ctx.scratch(true);
  {
    Tensor h = ctx.take<CheckpointInput>(&key).input;
    for (Layer* layer : layers) h = layer->forward(h, redo);
  }
  Tensor d = dy;
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    d = (*it)->backward(d, redo);
    redo.after_backward(**it);
  }
  ME_CHECK(redo.empty(), "{}: recomputed activations left after backward", key.name());
  return d;
}

RecomputedLayers::RecomputedLayers(const FullRecompute& recompute, std::vector<Layer*> layers)
    : layers_(std::move(layers)), chunks_(recompute_chunks(recompute, layers_.size())) {
  for (size_t i = 0; i < chunks_.size(); ++i) keys_.emplace_back();
}

std::span<Layer* const> RecomputedLayers::span(const RecomputeChunk& chunk) const {
  return std::span<Layer* const>(layers_).subspan(chunk.begin, chunk.end - chunk.begin);
}

Tensor RecomputedLayers::forward(const Tensor& x, MicroBatchContext& ctx) {
  Tensor h = x;
  for (size_t i = 0; i < chunks_.size(); ++i) {
    if (chunks_[i].recompute) {
      h = checkpointed_forward(keys_[i], span(chunks_[i]), h, ctx);
    } else {
      for (Layer* layer : span(chunks_[i])) {
        ctx.before_forward(*layer);
        h = layer->forward(h, ctx);
      }
    }
  }
  return h;
}

Tensor RecomputedLayers::backward(const Tensor& dy, MicroBatchContext& ctx) {
  Tensor d = dy;
  for (size_t i = chunks_.size(); i-- > 0;) {
    if (chunks_[i].recompute) {
      d = checkpointed_backward(keys_[i], span(chunks_[i]), d, ctx);
    } else {
      const auto layers = span(chunks_[i]);
      for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
        d = (*it)->backward(d, ctx);
        ctx.after_backward(**it);
      }
    }
  }
  return d;
}

ModuleCost RecomputedLayers::cost(const CostQuery& query) const {
  std::vector<ModuleCost> parts;  // plain layers and checkpointed spans, in forward order
  for (const RecomputeChunk& chunk : chunks_) {
    std::vector<ModuleCost> layers;
    for (const Layer* layer : span(chunk)) layers.push_back(layer->cost(query));
    if (!chunk.recompute) {
      parts.insert(parts.end(), layers.begin(), layers.end());
      continue;
    }
    // Hidden to hidden: the span's incoming gradient is as large as its first layer's input.
    ModuleCost span_cost = sequence_cost(layers, layers.front().input);
    // The recomputed first layer keeps the checkpointed input itself.
    span_cost.backward += span_cost.saved - span_cost.input;
    span_cost.saved = span_cost.input;
    parts.push_back(span_cost);
  }
  return sequence_cost(parts, parts.empty() ? 0.0 : parts.front().input);
}

}  // namespace me
