// The plan against closed-form counts: GPT parameters 12 L h^2 + 13 L h + (V + s) h + 2 h, and
// Megatron's FLOPs formula 72 B s L h^2 (1 + s / (12 h) + V / (12 h L)) for tied, biased GPTs.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/plan/plan.h"

using namespace me;

namespace {

Recipe gpt3_175b() {
  return load_recipe(std::string(ME_SOURCE_DIR) + "/recipes/gpt/gpt3_175b.yaml", {}, 1024,
                     RecipePurpose::kPlan);
}

double gpt_parameters(double layers, double hidden, double vocab, double positions) {
  return 12 * layers * hidden * hidden + 13 * layers * hidden + (vocab + positions) * hidden +
         2 * hidden;
}

}  // namespace

TEST_CASE("GPT-3 175B plans to 175 billion parameters and Megatron's FLOPs") {
  const Recipe recipe = gpt3_175b();
  REQUIRE(recipe.parallel.tensor_model_parallel_size == 8);
  REQUIRE(recipe.parallel.pipeline_model_parallel_size == 16);
  const PlanReport r = plan_recipe(recipe, 50257);
  CHECK(r.padded_vocab_size == 51200);  // 50257 padded to a multiple of 128 * tp 8
  const double expected = gpt_parameters(96, 12288, 51200, 2048);
  CHECK(r.parameters == expected);
  CHECK(std::abs(r.parameters - 175e9) / 175e9 < 0.005);

  const double b = static_cast<double>(recipe.derived.global_batch_size), s = 2048, L = 96,
               h = 12288, V = 51200;
  const double megatron = 72 * b * s * L * h * h * (1 + s / (12 * h) + V / (12 * h * L));
  CHECK(r.flops_per_step == doctest::Approx(megatron).epsilon(1e-12));
  CHECK(r.tokens_per_step == b * s);
}

TEST_CASE("per-rank parameters follow tensor and pipeline sharding") {
  const Recipe recipe = gpt3_175b();
  const PlanReport r = plan_recipe(recipe, 50257);
  // The busiest stage: 6 layers of (12 h^2 + 7 h) / tp + 6 h replicated norm/bias elements,
  // plus the vocab-parallel word embedding (V h / tp) and the replicated positions (s h).
  const double h = 12288, tp = 8;
  const double layer = (12 * h * h + 7 * h) / tp + 6 * h;
  const double first_stage = 6 * layer + 51200 * h / tp + 2048 * h;
  CHECK(r.parameters_per_rank == doctest::Approx(first_stage).epsilon(1e-12));
  CHECK(r.pipeline_bubble == doctest::Approx(15.0 / recipe.derived.num_microbatches));
}

TEST_CASE("the distributed optimizer divides Adam's moments by the data-parallel size") {
  Recipe plain = gpt3_175b();
  Recipe sharded =
      load_recipe(std::string(ME_SOURCE_DIR) + "/recipes/gpt/gpt3_175b.yaml",
                  {"parallel.use_distributed_optimizer=true"}, 1024, RecipePurpose::kPlan);
  const double dp = static_cast<double>(sharded.derived.data_parallel_size);
  REQUIRE(dp == 8);
  const PlanReport a = plan_recipe(plain, 50257);
  const PlanReport b = plan_recipe(sharded, 50257);
  CHECK(b.memory.optimizer == doctest::Approx(a.memory.optimizer / dp));
  // This engine's distributed optimizer shards the Adam moments only: every rank keeps the whole
  // fp32 main parameters in its flat buffer (engine/optim/param_buffers.h), so weights stay.
  CHECK(b.memory.weights == a.memory.weights);
  // bf16 training, per parameter of the busiest rank (pipeline rank 0: the embedding and 16
  // micro-batches in flight): 4 bytes of fp32 main weights and 2 of the bf16 copy, 4 of fp32
  // gradients, 8 of Adam moments. The flat buffers pad each parameter to 64 elements and the
  // buffer to 128: a few hundred elements against ~1.4e9 (well inside Approx's 1e-5).
  REQUIRE(a.memory.pipeline_rank == 0);
  CHECK(a.memory.optimizer == doctest::Approx(8 * a.parameters_per_rank));
  CHECK(a.memory.weights == doctest::Approx(6 * a.parameters_per_rank));
  CHECK(a.memory.gradients == doctest::Approx(4 * a.parameters_per_rank));
}

TEST_CASE("the GPT-2 recipes plan to Hugging Face's parameter counts plus the padded rows") {
  // transformers' GPT2LMHeadModel num_parameters() for gpt2, gpt2-medium and gpt2-xl (vocabulary
  // 50257, tied); our vocabulary is padded to 50304 rows, each `hidden` wide.
  const struct {
    const char* recipe;
    double hugging_face;
    double hidden;
  } models[] = {{"gpt2_124m.yaml", 124439808, 768},
                {"gpt2_350m.yaml", 354823168, 1024},
                {"gpt2_1p5b.yaml", 1557611200, 1600}};
  for (const auto& m : models) {
    const Recipe recipe = load_recipe(std::string(ME_SOURCE_DIR) + "/recipes/gpt/" + m.recipe, {},
                                      1, RecipePurpose::kPlan);
    const PlanReport r = plan_recipe(recipe, 50257);
    CHECK(r.padded_vocab_size == 50304);
    CHECK_MESSAGE(r.parameters == m.hugging_face + (50304 - 50257) * m.hidden, m.recipe);
  }
}

TEST_CASE("uneven stages and interleaving change the busiest stage and the bubble") {
  // 96 layers over 16 stages: first 1, last 11, the middle 84 = 14 x 6.
  const std::string path = std::string(ME_SOURCE_DIR) + "/recipes/gpt/gpt3_175b.yaml";
  const double h = 12288, tp = 8;
  const double layer = (12 * h * h + 7 * h) / tp + 6 * h;
  // The last stage holds 12 layers and, tied, its copy of the word table plus the final norm.
  const Recipe uneven = load_recipe(path,
                                    {"parallel.decoder_first_pipeline_num_layers=1",
                                     "parallel.decoder_last_pipeline_num_layers=11"},
                                    1024, RecipePurpose::kPlan);
  const PlanReport u = plan_recipe(uneven, 50257);
  CHECK(u.parameters_per_rank ==
        doctest::Approx(11 * layer + 51200 * h / tp + 2 * h).epsilon(1e-12));
  // Interleaving 3 layers per virtual stage: 2 chunks per rank, bubble (pp - 1) / (vpp m).
  const Recipe interleaved = load_recipe(path, {"parallel.num_layers_per_virtual_pipeline_stage=3"},
                                         1024, RecipePurpose::kPlan);
  const PlanReport v = plan_recipe(interleaved, 50257);
  CHECK(v.pipeline_bubble == doctest::Approx(15.0 / (2.0 * interleaved.derived.num_microbatches)));
  CHECK(v.parameters_per_rank == plan_recipe(gpt3_175b(), 50257).parameters_per_rank);
}
