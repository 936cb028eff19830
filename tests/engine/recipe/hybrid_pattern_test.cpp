// model.hybrid_override_pattern: '*' and '-' layers parse, and a pattern of another length or
// with a layer this engine does not build is an error at its key (Megatron's M and E named).
#include "engine/recipe/hybrid_pattern.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "tests/engine/recipe/recipe_fixture.h"

namespace me::test {
namespace {

using Lines = std::vector<std::string>;

std::string at(const RecipeDir& dir, const std::string& message) {
  return fmt::format("{}:3:3: error: {}", dir.path("child.yaml"), message);
}

TEST_CASE("a hybrid pattern names one layer per character") {
  CHECK(hybrid_layers("*-*", 3) == std::vector<HybridLayer>{HybridLayer::kAttention,
                                                            HybridLayer::kMlp,
                                                            HybridLayer::kAttention});
  RecipeDir dir;
  CHECK(child_errors(dir, "model:\n  hybrid_override_pattern: \"*-\"\n").empty());
}

TEST_CASE("a hybrid pattern must name num_layers layers this engine builds") {
  RecipeDir dir;
  // The minimal recipe has 2 layers.
  CHECK(child_errors(dir, "model:\n  hybrid_override_pattern: \"*-*\"\n") ==
        Lines{at(dir, "'*-*' names 3 layers but model.num_layers is 2; they must agree")});
  CHECK(child_errors(dir, "model:\n  hybrid_override_pattern: \"M-\"\n") ==
        Lines{at(dir,
                 "'M' at position 0 of 'M-': Mamba layers are not available yet (this engine "
                 "builds '*' attention and '-' MLP layers)")});
  CHECK(child_errors(dir, "model:\n  hybrid_override_pattern: \"*E\"\n") ==
        Lines{at(dir,
                 "'E' at position 1 of '*E': MoE layers are not available yet (this engine "
                 "builds '*' attention and '-' MLP layers)")});
  CHECK(child_errors(dir, "model:\n  hybrid_override_pattern: \"*x\"\n") ==
        Lines{at(dir, "'x' at position 1 of '*x' is not a layer symbol ('*' attention, '-' MLP)")});
}

}  // namespace
}  // namespace me::test
