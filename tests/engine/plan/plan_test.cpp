// The plan against closed-form counts: GPT parameters 12 L h^2 + 13 L h + (V + s) h + 2 h,
// Megatron's FLOPs formula 72 B s L h^2 (1 + s / (12 h) + V / (12 h L)) for tied, biased GPTs and
// 6 N_matrix + 6 s q_width L per token for GPT and Llama shapes, and a hybrid layer pattern's
// parameters and FLOPs layer by layer.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/plan/plan.h"
#include "tests/support/process.h"

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

TEST_CASE("FLOPs per token are 6 N_matrix + 6 s q_width L for GPT and Llama shapes") {
  // N_matrix: every weight a token passes through a GEMM (qkv, proj, fc1, fc2 per layer and the
  // head, tied or not; not the embedding lookups); q_width: the query heads' width. Causal
  // attention's scores and values: 12 s q_width per layer and token over half the keys.
  const struct {
    const char* recipe;
    double layers, hidden, q_width, kv_width, ffn, swiglu, seq, vocab;
  } models[] = {{"gpt/gpt2_124m.yaml", 12, 768, 768, 768, 3072, 1, 1024, 50304},
                {"llama/llama3_1_8b.yaml", 32, 4096, 4096, 1024, 14336, 2, 8192, 128256}};
  for (const auto& m : models) {
    CAPTURE(m.recipe);
    const Recipe recipe = load_recipe(std::string(ME_SOURCE_DIR) + "/recipes/" + m.recipe, {}, 8,
                                      RecipePurpose::kPlan);
    const PlanReport r = plan_recipe(recipe, m.vocab == 50304 ? 50257 : 128256);
    REQUIRE(r.padded_vocab_size == m.vocab);
    const double layer = m.hidden * (m.q_width + 2 * m.kv_width) + m.q_width * m.hidden +
                         m.hidden * m.swiglu * m.ffn + m.ffn * m.hidden;
    const double n_matrix = m.layers * layer + m.vocab * m.hidden;
    CHECK(r.flops_per_token ==
          doctest::Approx(6 * n_matrix + 6 * m.seq * m.q_width * m.layers).epsilon(1e-12));
    CHECK(r.flops_per_step == doctest::Approx(r.flops_per_token * r.tokens_per_step));
  }
}

TEST_CASE("a hybrid pattern plans its attention-only and mlp-only layers") {
  // 4 layers *-*- of hidden 64 (4 heads), F 256, sequence 32, vocabulary 200 padded to 256
  // (tied), learned positions, biases, LayerNorm.
  testing::TempDir dir;
  testing::write_text(dir / "r.yaml", R"(model: {num_layers: 4, hidden_size: 64,
  num_attention_heads: 4, seq_length: 32, max_position_embeddings: 32,
  hybrid_override_pattern: "*-*-"}
data: {mock_data: true}
tokenizer: {vocab_size: 200}
train: {micro_batch_size: 2, global_batch_size: 8, train_iters: 1}
optimizer: {lr: 0.001}
)");
  const double h = 64, f = 256, s = 32, v = 256;
  const double attention = 4 * h * h + 4 * h + 2 * h;  // qkv and proj with biases, their norm
  const double mlp = 2 * h * f + f + h + 2 * h;        // fc1 and fc2 with biases, their norm
  const double embedding = (v + s) * h;
  const PlanReport one = plan_recipe(load_recipe(dir / "r.yaml", {}, 1, RecipePurpose::kPlan), 200);
  CHECK(one.parameters == 2 * attention + 2 * mlp + embedding + 2 * h);  // + the final norm
  CHECK(one.embedding_parameters == embedding);
  // Per token: attention-only layers have no MLP FLOPs and MLP-only layers no attention FLOPs.
  const double attention_flops = 6 * (4 * h * h) + 6 * s * h;
  const double mlp_flops = 6 * (2 * h * f);
  CHECK(one.flops_per_token ==
        doctest::Approx(2 * attention_flops + 2 * mlp_flops + 6 * v * h).epsilon(1e-12));

  // pp 2: "*-" on each stage; the first holds the embedding, the last the final norm and its
  // copy of the tied word table.
  const PlanReport pp =
      plan_recipe(load_recipe(dir / "r.yaml", {"parallel.pipeline_model_parallel_size=2"}, 2,
                              RecipePurpose::kPlan),
                  200);
  CHECK(pp.parameters == one.parameters);
  CHECK(pp.parameters_per_rank == attention + mlp + embedding);
  // One hidden state (mbs 2 x 32 x 64 f32) sent forward or back per micro-batch (4 a step).
  CHECK(pp.communication.pipeline_parallel == 4 * 2 * s * h * 4);
}
