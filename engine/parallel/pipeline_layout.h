// Which decoder layers each pipeline rank holds (Megatron's get_transformer_layer_offset): an even
// split, uneven first/last stages, or interleaved virtual stages, where chunk c of rank p is model
// stage c * pp + p. The recipe rules (engine/recipe/pipeline_rules.h) reject layouts this cannot
// split; here they are internal errors.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace me {

struct Recipe;

// Decoder layers [begin, end) by global index.
struct LayerRange {
  int64_t begin = 0;
  int64_t end = 0;

  int64_t size() const { return end - begin; }
  bool operator==(const LayerRange&) const = default;
};

struct PipelineLayout {
  int64_t num_layers = 1;
  int64_t pp = 1;
  int64_t vpp = 1;  // chunks (virtual stages) per rank
  std::optional<int64_t> first_layers;
  std::optional<int64_t> last_layers;

  static PipelineLayout of(const Recipe& recipe);
  // The layers of chunk `chunk` on pipeline rank `pp_rank`.
  LayerRange layers(int64_t pp_rank, int64_t chunk) const;
  // Layers per rank, summed over its chunks.
  int64_t layers_on_rank(int64_t pp_rank) const;
};

// What one rank builds and runs: its place in the pipeline and its chunks' layers, in order.
struct PipelineStage {
  int64_t rank = 0;
  int64_t size = 1;
  std::vector<LayerRange> chunks;

  bool first() const { return rank == 0; }
  bool last() const { return rank == size - 1; }
  // The model's first chunk (it embeds) and last chunk (it computes the loss) are here.
  bool holds_embedding(int64_t chunk) const { return first() && chunk == 0; }
  bool holds_loss(int64_t chunk) const {
    return last() && chunk == static_cast<int64_t>(chunks.size()) - 1;
  }

  static PipelineStage whole(int64_t num_layers);
  static PipelineStage of(const PipelineLayout& layout, int64_t pp_rank);

  // The stage that models constructed on this thread take: the innermost PipelineStageScope's,
  // else null (the whole model). Models come from registries keyed by (recipe, vocabulary), so
  // the stage reaches their constructors this way, like TensorParallel::current().
  static const PipelineStage* current();
};

// Sets PipelineStage::current() for its lifetime (model construction).
class PipelineStageScope {
 public:
  explicit PipelineStageScope(const PipelineStage& stage);
  ~PipelineStageScope();
  PipelineStageScope(const PipelineStageScope&) = delete;
  PipelineStageScope& operator=(const PipelineStageScope&) = delete;

 private:
  const PipelineStage* previous_;
};

}  // namespace me
