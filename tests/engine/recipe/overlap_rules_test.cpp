// overlap_param_gather in recipes: without the distributed optimizer, or without
// overlap_grad_reduce, it is an error naming both fields at the line that set it; with both it
// loads (the file line 1 is its base, 2 "parallel:", 3 the flag).
#include "engine/recipe/overlap_rules.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "tests/engine/recipe/recipe_fixture.h"

namespace me::test {
namespace {

using Lines = std::vector<std::string>;

std::string child(bool distributed_optimizer, bool overlap_grad_reduce) {
  return fmt::format(
      "parallel:\n  overlap_param_gather: true\n  use_distributed_optimizer: {}\n"
      "  overlap_grad_reduce: {}\n",
      distributed_optimizer, overlap_grad_reduce);
}

}  // namespace

TEST_CASE("overlap_param_gather needs the distributed optimizer and overlap_grad_reduce") {
  RecipeDir dir;
  const std::string where = dir.path("child.yaml");
  CHECK(child_errors(dir, child(false, true), {}, 2) ==
        Lines{fmt::format("{}:3:3: error: parallel.overlap_param_gather needs "
                          "parallel.use_distributed_optimizer: true (it overlaps the distributed "
                          "optimizer's parameter all-gather)",
                          where)});
  CHECK(child_errors(dir, child(true, false), {}, 2) ==
        Lines{fmt::format("{}:3:3: error: parallel.overlap_param_gather needs "
                          "parallel.overlap_grad_reduce: true (as in Megatron)",
                          where)});
  CHECK(child_errors(dir, child(false, false), {}, 2).size() == 2);
  CHECK(child_errors(dir, child(true, true), {}, 2).empty());
  const Recipe r = load_recipe(dir.path("child.yaml"), {}, 2);
  CHECK(r.parallel.overlap_param_gather);
  CHECK_FALSE(load_recipe(dir.write("plain.yaml",
                                    "base: child.yaml\nparallel:\n"
                                    "  overlap_param_gather: false\n"),
                          {}, 2)
                  .parallel.overlap_param_gather);
}

}  // namespace me::test
