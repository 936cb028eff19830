// Start-up banner: tokens per step, epochs over the train split and the outputs, by hand.
#include "engine/train/banner.h"

#include <doctest/doctest.h>

using namespace me;

namespace {

const char* kRecipe = R"(model:
  num_layers: 2
  hidden_size: 32
  num_attention_heads: 2
  seq_length: 64
  max_position_embeddings: 64
data:
  data_path: [/data/corpus.h5]
  split: "80,20,0"
train:
  micro_batch_size: 4
  global_batch_size: 8
  train_iters: 100
optimizer:
  lr: 0.001
checkpoint:
  save: /ckpt
  save_interval: 50
  async_save: true
logging:
  metrics_file: /logs/metrics.jsonl
  tensorboard_dir: /logs/tb
)";

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("the banner states tokens per step epochs memory and outputs") {
  const Recipe recipe = parse_recipe(kRecipe, "<test>");
  const Topology topology = Topology::build(recipe, 1, 0);
  PlanReport plan;
  plan.memory.weights = 1048576.0;
  plan.memory.gradients = 1048576.0;
  plan.memory.optimizer = 2 * 1048576.0;
  plan.memory.activations = 0.5 * 1048576.0;
  // 100 iterations x 8 sequences x 64 tokens = 51200 tokens; the train split is 80% of 40000.
  const std::string text = format_banner(recipe, topology, Device::cpu(), 12345, plan,
                                         {{"/data/corpus.h5", 300, 40000}});
  INFO(text);
  CHECK(has(text, "12345 parameters (0.01 M)"));
  CHECK(has(text,
            "micro 4 x 2 micro-batches x data-parallel 1 = 8 sequences = 512 tokens per "
            "step"));
  CHECK(has(text, "100 iterations = 51200 tokens"));
  CHECK(has(text, "/data/corpus.h5: 300 documents, 40000 tokens"));
  CHECK(has(text, "epochs       1.60 over the train split (32000 tokens)"));
  CHECK(has(text, "memory plan  4.5 MiB per rank: weights 1.0 MiB"));
  CHECK(has(text,
            "metrics: /logs/metrics.jsonl; tensorboard: /logs/tb; checkpoints: /ckpt every "
            "50 (async)"));
}

TEST_CASE("the banner names mock data and leaves out epochs") {
  Recipe recipe = parse_recipe(kRecipe, "<test>");
  recipe.data.mock_data = true;
  const std::string text =
      format_banner(recipe, Topology::build(recipe, 1, 0), Device::cpu(), 1, PlanReport{}, {});
  CHECK(has(text, "mock data"));
  CHECK_FALSE(has(text, "epochs"));
}
