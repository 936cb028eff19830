// Recompute settings: Megatron's granularity/method/num_layers combinations, each error naming
// the keys at the line that set them, and valid recipes silent.
#include "engine/recipe/recompute_rules.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "tests/engine/recipe/recipe_fixture.h"

namespace me::test {
namespace {

using Lines = std::vector<std::string>;

std::string at(const RecipeDir& dir, int line, const std::string& message) {
  return fmt::format("{}:{}:3: error: {}", dir.path("child.yaml"), line, message);
}

}  // namespace

TEST_CASE("recompute recipes Megatron accepts load without errors") {
  RecipeDir dir;
  CHECK(child_errors(dir, "train:\n  recompute_granularity: selective\n").empty());
  CHECK(child_errors(dir,
                     "train:\n  recompute_granularity: full\n  recompute_method: uniform\n"
                     "  recompute_num_layers: 1\n")
            .empty());
  CHECK(child_errors(dir,
                     "train:\n  recompute_granularity: full\n  recompute_method: block\n"
                     "  recompute_num_layers: 2\n")
            .empty());
}

TEST_CASE("full recompute needs recompute_method and recompute_num_layers") {
  RecipeDir dir;
  CHECK(child_errors(dir, "train:\n  recompute_granularity: full\n") ==
        Lines{at(dir, 3,
                 "train.recompute_granularity: full needs train.recompute_method (uniform or "
                 "block)"),
              at(dir, 3,
                 "train.recompute_granularity: full needs train.recompute_num_layers (layers per "
                 "chunk for uniform, recomputed layers per pipeline stage for block)")});
  CHECK(child_errors(dir, "train:\n  recompute_granularity: full\n  recompute_num_layers: 2\n") ==
        Lines{at(dir, 3,
                 "train.recompute_granularity: full needs train.recompute_method (uniform or "
                 "block)")});
}

TEST_CASE("recompute_method and recompute_num_layers are rejected without full granularity") {
  RecipeDir dir;
  CHECK(child_errors(dir, "train:\n  recompute_method: uniform\n") ==
        Lines{at(dir, 3,
                 "train.recompute_method (uniform) is only used with train.recompute_granularity: "
                 "full; it must be null without train.recompute_granularity")});
  CHECK(child_errors(dir,
                     "train:\n  recompute_granularity: selective\n  recompute_num_layers: 2\n") ==
        Lines{at(dir, 4,
                 "train.recompute_num_layers (2) is only used with train.recompute_granularity: "
                 "full; it must be null with train.recompute_granularity: selective")});
}

TEST_CASE("recompute fields reject values Megatron does not know") {
  RecipeDir dir;
  const Lines bad_granularity = child_errors(dir, "train:\n  recompute_granularity: partial\n");
  REQUIRE(bad_granularity.size() == 1);
  CHECK(bad_granularity[0].find("train.recompute_granularity") != std::string::npos);
  CHECK(bad_granularity[0].find("selective") != std::string::npos);
  const Lines bad_count = child_errors(dir,
                                       "train:\n  recompute_granularity: full\n"
                                       "  recompute_method: block\n  recompute_num_layers: 0\n");
  REQUIRE(bad_count.size() == 1);
  CHECK(bad_count[0].find("train.recompute_num_layers") != std::string::npos);
}

}  // namespace me::test
