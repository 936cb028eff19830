// Layer assignment against Megatron's get_transformer_layer_offset worked by hand: even, uneven
// first/last stages, and interleaved chunks (chunk c of rank p is model stage c * pp + p).
#include <doctest/doctest.h>

#include "engine/parallel/pipeline_layout.h"

using namespace me;

namespace {
PipelineLayout layout(int64_t layers, int64_t pp, int64_t vpp = 1,
                      std::optional<int64_t> first = {}, std::optional<int64_t> last = {}) {
  return {layers, pp, vpp, first, last};
}
}  // namespace

TEST_CASE("even split gives rank p layers p L / pp to (p + 1) L / pp") {
  const auto l = layout(8, 4);
  CHECK(l.layers(0, 0) == LayerRange{0, 2});
  CHECK(l.layers(3, 0) == LayerRange{6, 8});
  CHECK(l.layers_on_rank(2) == 2);
}

TEST_CASE("interleaved chunks: L 8 pp 2 vpp 2 puts 0-1 and 4-5 on rank 0, 2-3 and 6-7 on rank 1") {
  const auto l = layout(8, 2, 2);
  CHECK(l.layers(0, 0) == LayerRange{0, 2});
  CHECK(l.layers(1, 0) == LayerRange{2, 4});
  CHECK(l.layers(0, 1) == LayerRange{4, 6});
  CHECK(l.layers(1, 1) == LayerRange{6, 8});
  // L 12 pp 3 vpp 4: one layer per chunk, rank 1 holds 1, 4, 7, 10.
  const auto m = layout(12, 3, 4);
  for (int64_t c = 0; c < 4; ++c) CHECK(m.layers(1, c) == LayerRange{3 * c + 1, 3 * c + 2});
  const PipelineStage stage = PipelineStage::of(l, 1);
  CHECK(stage.chunks == std::vector<LayerRange>{{2, 4}, {6, 8}});
  CHECK(stage.holds_loss(1));
  CHECK_FALSE(stage.holds_loss(0));
  CHECK_FALSE(stage.holds_embedding(0));
  CHECK(PipelineStage::of(l, 0).holds_embedding(0));
}

TEST_CASE("uneven stages: first and last counts, the middle split evenly") {
  // L 10 pp 4 first 1 last 3: middle 6 layers over 2 stages.
  const auto l = layout(10, 4, 1, 1, 3);
  CHECK(l.layers(0, 0) == LayerRange{0, 1});
  CHECK(l.layers(1, 0) == LayerRange{1, 4});
  CHECK(l.layers(2, 0) == LayerRange{4, 7});
  CHECK(l.layers(3, 0) == LayerRange{7, 10});
  // Only the first set: the remaining 6 layers over the other 3 stages, the last included.
  const auto f = layout(7, 4, 1, 1);
  CHECK(f.layers(0, 0) == LayerRange{0, 1});
  CHECK(f.layers(1, 0) == LayerRange{1, 3});
  CHECK(f.layers(3, 0) == LayerRange{5, 7});
  // Only the last set.
  const auto t = layout(5, 2, 1, std::nullopt, 4);
  CHECK(t.layers(0, 0) == LayerRange{0, 1});
  CHECK(t.layers(1, 0) == LayerRange{1, 5});
}

TEST_CASE("models take the scoped stage and the whole model without a scope") {
  CHECK(PipelineStage::current() == nullptr);
  const PipelineStage stage = PipelineStage::of(layout(4, 2), 1);
  {
    PipelineStageScope scope(stage);
    CHECK(PipelineStage::current() == &stage);
  }
  CHECK(PipelineStage::current() == nullptr);
  CHECK(PipelineStage::whole(6).chunks == std::vector<LayerRange>{{0, 6}});
}
