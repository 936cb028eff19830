// What the modules declare about every parameter of a tiny GPT (LayerNorm, learned positions,
// biases, tied embeddings) and a tiny Llama (RMSNorm, RoPE, SwiGLU, GQA, untied; also with q/k
// norms) at tp 2, with and without sequence parallelism, on both ranks, against a table written
// from Megatron's rules: which parameters are sharded (and how), replicated or partial; which
// are tied copies under pipeline parallelism, and which copy owns the norm.
#include <doctest/doctest.h>

#include <string>

#include "engine/models/gpt.h"
#include "engine/nn/tensor_parallel.h"
#include "engine/parallel/pipeline_layout.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

constexpr int64_t kPadded = 64;
constexpr int64_t kFfn = 24;

enum class Family { kGpt, kLlama, kLlamaQkNorm };

Recipe recipe_of(Family family, bool sequence_parallel, int64_t pp) {
  test::TinyGpt t;
  if (family != Family::kGpt) {
    t.num_query_groups = 2;
    t.position_embedding_type = "rope";
    t.normalization = "RMSNorm";
    t.swiglu = true;
    t.add_bias_linear = false;
    t.untie = true;
    t.qk_layernorm = family == Family::kLlamaQkNorm;
  }
  t.ffn_hidden_size = kFfn;
  Recipe recipe = test::tiny_gpt_recipe(t);
  recipe.parallel.tensor_model_parallel_size = 2;
  recipe.parallel.sequence_parallel = sequence_parallel;
  recipe.parallel.pipeline_model_parallel_size = pp;
  return recipe;
}

// The expected declaration of a parameter, from its name (the test's independent table).
struct Expected {
  TensorParallelRelation relation;
  int dim = -1;                 // when sharded
  std::vector<int64_t> blocks;  // when sharded
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Expected expected(const std::string& name, bool swiglu, bool sequence_parallel) {
  const auto outside =
      sequence_parallel ? TensorParallelRelation::kPartial : TensorParallelRelation::kReplicated;
  using R = TensorParallelRelation;
  if (name == "embedding.word_embeddings.weight" || name == "output_layer.weight") {
    return {R::kSharded, 0, {}};
  }
  if (name == "embedding.position_embeddings.weight") return {outside};
  if (name.find("layernorm.") != std::string::npos &&
      (name.find(".q_layernorm.") != std::string::npos ||
       name.find(".k_layernorm.") != std::string::npos)) {
    return {R::kPartial};  // this rank's heads only, with or without sequence parallelism
  }
  if (name.find("layernorm.") != std::string::npos) return {outside};
  if (ends_with(name, "linear_qkv.weight") || ends_with(name, "linear_qkv.bias")) {
    return {R::kSharded, 0, {}};
  }
  if (ends_with(name, "linear_fc1.weight") || ends_with(name, "linear_fc1.bias")) {
    return {R::kSharded, 0, swiglu ? std::vector<int64_t>{kFfn, kFfn} : std::vector<int64_t>{}};
  }
  if (ends_with(name, "linear_proj.weight") || ends_with(name, "linear_fc2.weight")) {
    return {R::kSharded, 1, {}};
  }
  if (ends_with(name, "linear_proj.bias") || ends_with(name, "linear_fc2.bias")) return {outside};
  FAIL("no expectation for " << name);
  return {R::kReplicated};
}

std::unique_ptr<GptModel> build(const Recipe& recipe, int64_t tp_rank, int64_t pp_rank) {
  const TensorParallel tp{tp_rank, 2, nullptr, nullptr, recipe.parallel.sequence_parallel};
  const TensorParallelScope tp_scope(tp);
  const PipelineStage stage = PipelineStage::of(PipelineLayout::of(recipe), pp_rank);
  const PipelineStageScope stage_scope(stage);
  return std::make_unique<GptModel>(recipe, kPadded);
}

}  // namespace

TEST_CASE("GPT and Llama parameters declare how they relate across tp 2 with and without SP") {
  for (Family family : {Family::kGpt, Family::kLlama, Family::kLlamaQkNorm}) {
    for (bool sp : {false, true}) {
      for (int64_t rank : {0, 1}) {
        CAPTURE(static_cast<int>(family));
        CAPTURE(sp);
        CAPTURE(rank);
        const Recipe recipe = recipe_of(family, sp, 1);
        const std::unique_ptr<GptModel> model = build(recipe, rank, 0);
        int64_t counted[3] = {0, 0, 0};
        int64_t qk_norms = 0;
        for (const Parameter* p : model->parameters()) {
          CAPTURE(p->name);
          const Expected want = expected(p->name, family != Family::kGpt, sp);
          CHECK(p->tensor_parallel == want.relation);
          ++counted[static_cast<int>(p->tensor_parallel)];
          qk_norms += p->name.find("_layernorm.") != std::string::npos &&
                      p->name.find("self_attention") != std::string::npos;
          if (want.relation == TensorParallelRelation::kSharded) {
            CHECK(p->partition.dim == want.dim);
            CHECK(p->partition.rank == rank);
            CHECK(p->partition.size == 2);
            CHECK(p->partition.blocks == want.blocks);
            CHECK(p->partition.sharded());
          } else {
            CHECK_FALSE(p->partition.sharded());
          }
          CHECK_FALSE(p->tied.tied());  // one stage: the head reads the table itself
          CHECK(p->expert == -1);
          CHECK(p->group == "dense");
        }
        // GPT: 2 x (4 norm + 2 row bias) + 2 final norm + positions replicated or partial;
        // Llama: 2 x 2 norms + final norm (+ 2 x 2 q/k norms).
        const int64_t whole = family == Family::kGpt ? 15 : (family == Family::kLlama ? 5 : 9);
        const int64_t replicated = counted[static_cast<int>(TensorParallelRelation::kReplicated)];
        const int64_t partial = counted[static_cast<int>(TensorParallelRelation::kPartial)];
        CHECK(replicated + partial == whole);
        CHECK(partial == (sp ? whole : qk_norms));
        CHECK(qk_norms == (family == Family::kLlamaQkNorm ? 4 : 0));
      }
    }
  }
}

TEST_CASE(
    "the tied word embeddings are copies on the first and last stage and the first owns them") {
  for (Family family : {Family::kGpt, Family::kLlama}) {
    CAPTURE(static_cast<int>(family));
    const Recipe recipe = recipe_of(family, true, 2);
    for (int64_t pp_rank : {0, 1}) {
      CAPTURE(pp_rank);
      const std::unique_ptr<GptModel> model = build(recipe, 1, pp_rank);
      int64_t tied = 0;
      for (const Parameter* p : model->parameters()) {
        CAPTURE(p->name);
        if (!p->tied.tied()) continue;
        ++tied;
        CHECK(p->name == "embedding.word_embeddings.weight");
        CHECK(p->tied.key == "word_embeddings");
        CHECK(p->tied.owner == (pp_rank == 0));  // the last stage's copy is not counted twice
        CHECK(p->tensor_parallel == TensorParallelRelation::kSharded);
        CHECK(p->partition.rank == 1);
      }
      CHECK(tied == (family == Family::kGpt ? 1 : 0));  // untied Llama shares nothing
    }
  }
}

}  // namespace me
