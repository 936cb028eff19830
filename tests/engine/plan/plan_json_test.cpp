// `plan --json`: the JSON report carries the same figures as the PlanReport, memory per pipeline
// rank included.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "engine/plan/plan.h"
#include "tests/support/process.h"

using namespace me;

TEST_CASE("the json plan carries the report's figures and every pipeline rank's memory") {
  testing::TempDir dir;
  testing::write_text(dir / "r.yaml", R"(model: {num_layers: 4, hidden_size: 64,
  num_attention_heads: 4, seq_length: 32, max_position_embeddings: 32}
data: {mock_data: true}
tokenizer: {vocab_size: 200}
train: {micro_batch_size: 2, global_batch_size: 8, train_iters: 1}
optimizer: {lr: 0.001}
parallel: {pipeline_model_parallel_size: 2}
)");
  const Recipe recipe = load_recipe(dir / "r.yaml", {}, 4, RecipePurpose::kPlan);
  const PlanReport r = plan_recipe(recipe, 200);
  const auto j = nlohmann::json::parse(format_plan_json(r, recipe));
  CHECK(j["layout"]["world_size"] == 4);
  CHECK(j["layout"]["data_parallel_size"] == 2);
  CHECK(j["padded_vocab_size"] == 256);
  CHECK(j["parameters"].get<double>() == r.parameters);
  CHECK(j["flops_per_step"].get<double>() == r.flops_per_step);
  CHECK(j["pipeline_bubble"].get<double>() == r.pipeline_bubble);
  const auto& memory = j["memory"];
  CHECK(memory["total_bytes"].get<double>() == r.memory.total());
  CHECK(memory["pipeline_rank"] == r.memory.pipeline_rank);
  REQUIRE(memory["per_pipeline_rank"].size() == 2);
  for (size_t rank = 0; rank < 2; ++rank) {
    const auto& stage = memory["per_pipeline_rank"][rank];
    const RankMemory& m = r.memory.stages[rank];
    CHECK(stage["weights_bytes"].get<double>() == m.weights);
    CHECK(stage["activations_bytes"].get<double>() == m.activations);
    CHECK(stage["total_bytes"].get<double>() ==
          doctest::Approx(
              stage["weights_bytes"].get<double>() + stage["gradients_bytes"].get<double>() +
              stage["optimizer_bytes"].get<double>() + stage["activations_bytes"].get<double>() +
              stage["workspace_bytes"].get<double>()));
  }
  CHECK(j["communication_bytes"]["pipeline_parallel"].get<double>() ==
        r.communication.pipeline_parallel);
}
