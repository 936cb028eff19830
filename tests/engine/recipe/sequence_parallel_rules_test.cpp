// Sequence parallelism in recipes: seq_length must split over the tensor-parallel ranks (the error
// names both fields at the line that set seq_length), tp 1 accepts the flag (ignored at start-up),
// and tensor parallelism with sequence parallelism and the distributed optimizer loads.
#include "engine/recipe/sequence_parallel_rules.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "tests/engine/recipe/recipe_fixture.h"

namespace me::test {
namespace {

using Lines = std::vector<std::string>;

std::string child(int64_t seq_length, int64_t tp, bool sequence_parallel) {
  return fmt::format(
      "model:\n  seq_length: {}\nparallel:\n  tensor_model_parallel_size: {}\n"
      "  sequence_parallel: {}\n  use_distributed_optimizer: true\n",
      seq_length, tp, sequence_parallel);
}

}  // namespace

TEST_CASE("sequence parallel needs seq_length divisible by tensor_model_parallel_size") {
  RecipeDir dir;
  CHECK(child_errors(dir, child(30, 4, true), {}, 8) ==
        Lines{fmt::format("{}:3:3: error: with parallel.sequence_parallel, model.seq_length (30) "
                          "must be divisible by parallel.tensor_model_parallel_size (4)",
                          dir.path("child.yaml"))});
  CHECK(child_errors(dir, child(32, 4, true), {}, 8).empty());
  CHECK(child_errors(dir, child(30, 4, false), {}, 8).empty());  // only the split needs it
  CHECK(child_errors(dir, child(30, 2, true), {}, 8).empty());
}

TEST_CASE("sequence parallel at tp 1 loads and the distributed optimizer runs with tp") {
  RecipeDir dir;
  CHECK(child_errors(dir, child(31, 1, true), {}, 2).empty());
  const Recipe r = load_recipe(dir.write("tp.yaml", "base: child.yaml\n"), {}, 8);
  CHECK(r.parallel.tensor_model_parallel_size == 1);
  const Recipe tp = load_recipe(
      dir.path("child.yaml"), {"parallel.tensor_model_parallel_size=2", "model.seq_length=32"}, 8);
  CHECK(tp.parallel.sequence_parallel);
  CHECK(tp.parallel.use_distributed_optimizer);
  CHECK(tp.derived.data_parallel_size == 4);
}

}  // namespace me::test
