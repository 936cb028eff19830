// Pipeline layout rules: each invalid layout's exact message at the first key the recipe sets,
// and the valid layouts (uneven, interleaved) load.
#include "engine/recipe/pipeline_rules.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "tests/engine/recipe/recipe_fixture.h"

namespace me::test {
namespace {

using Lines = std::vector<std::string>;

std::string at(const RecipeDir& dir, int line, const std::string& message) {
  return fmt::format("{}:{}:3: error: {}", dir.path("child.yaml"), line, message);
}

// child.yaml lines: 2 parallel, 3 pp, 4 the option, 5 model, 6 num_layers, 7 train.
std::string child(int64_t pp, const std::string& option, int64_t layers,
                  const std::string& train = "") {
  return fmt::format(
      "parallel:\n  pipeline_model_parallel_size: {}\n  {}\nmodel:\n  num_layers: {}\n{}", pp,
      option, layers, train);
}

}  // namespace

TEST_CASE("uneven stages must leave a middle that splits evenly with a layer per stage") {
  RecipeDir dir;
  CHECK(child_errors(dir, child(4, "decoder_first_pipeline_num_layers: 1", 7), {}, 4).empty());
  const std::string both =
      "decoder_first_pipeline_num_layers: 1\n  decoder_last_pipeline_num_layers: 1";
  // Lines shift by one: 4 first, 5 last, 6 model, 7 num_layers.
  CHECK(child_errors(dir, child(4, both, 6), {}, 4).empty());
  CHECK(child_errors(dir, child(4, both, 5), {}, 4) ==
        Lines{at(dir, 4,
                 "model.num_layers (5) minus parallel.decoder_first_pipeline_num_layers (1) and "
                 "parallel.decoder_last_pipeline_num_layers (1) leaves 3 layers for 2 middle "
                 "stage(s); each middle stage needs the same number, at least 1")});
  CHECK(child_errors(dir, child(2, both, 4), {}, 2) ==
        Lines{at(dir, 4,
                 "model.num_layers (4) minus parallel.decoder_first_pipeline_num_layers (1) and "
                 "parallel.decoder_last_pipeline_num_layers (1) leaves 2 layers for 0 middle "
                 "stage(s); they must add up to the layers")});
  CHECK(child_errors(dir, child(1, "decoder_last_pipeline_num_layers: 2", 4)) ==
        Lines{at(dir, 4,
                 "parallel.decoder_first_pipeline_num_layers and "
                 "parallel.decoder_last_pipeline_num_layers need "
                 "parallel.pipeline_model_parallel_size > 1")});
}

TEST_CASE("interleaving needs layers divisible by pp x layers per virtual stage") {
  RecipeDir dir;
  const std::string train = "train: {micro_batch_size: 1, global_batch_size: 4}\n";
  CHECK(child_errors(dir, child(2, "num_layers_per_virtual_pipeline_stage: 1", 4, train), {}, 2)
            .empty());
  CHECK(child_errors(dir, child(2, "num_layers_per_virtual_pipeline_stage: 3", 4, train), {}, 2) ==
        Lines{at(dir, 4,
                 "model.num_layers (4) must be divisible by parallel.pipeline_model_parallel_size "
                 "(2) times parallel.num_layers_per_virtual_pipeline_stage (3)")});
  CHECK(child_errors(dir, child(1, "num_layers_per_virtual_pipeline_stage: 1", 4, train)) ==
        Lines{at(dir, 4,
                 "parallel.num_layers_per_virtual_pipeline_stage needs "
                 "parallel.pipeline_model_parallel_size > 1")});
  CHECK(child_errors(dir,
                     child(2,
                           "num_layers_per_virtual_pipeline_stage: 1\n  "
                           "decoder_first_pipeline_num_layers: 2",
                           4, train),
                     {}, 2) ==
        Lines{at(dir, 4,
                 "parallel.num_layers_per_virtual_pipeline_stage cannot be combined with "
                 "parallel.decoder_first_pipeline_num_layers or "
                 "parallel.decoder_last_pipeline_num_layers")});
}

TEST_CASE("the interleaved schedule needs micro-batches divisible by pp") {
  RecipeDir dir;
  // 6 / (1 * dp 1) = 6 micro-batches over pp 4.
  const std::string train = "train: {micro_batch_size: 1, global_batch_size: 6}\n";
  CHECK(child_errors(dir, child(4, "num_layers_per_virtual_pipeline_stage: 1", 8, train), {}, 4) ==
        Lines{at(dir, 4,
                 "the interleaved schedule (parallel.num_layers_per_virtual_pipeline_stage set) "
                 "needs the number of micro-batches (train.global_batch_size / "
                 "(train.micro_batch_size * data_parallel_size) = 6) to be divisible by "
                 "parallel.pipeline_model_parallel_size (4)")});
  // Without interleaving 6 micro-batches run on 4 stages.
  CHECK(child_errors(dir, child(4, "sequence_parallel: false", 8, train), {}, 4).empty());
}

}  // namespace me::test
