// docs/recipes.md must equal recipe_schema_markdown(), so the docs cannot drift from the schema.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/recipe/recipe.h"

namespace me::test {

TEST_CASE("docs/recipes.md is generated from the schema") {
  const std::string committed_path = std::string(ME_SOURCE_DIR) + "/docs/recipes.md";
  std::ifstream in(committed_path);
  std::stringstream committed;
  committed << in.rdbuf();
  const std::string expected = recipe_schema_markdown();
  if (committed.str() != expected) {
    const std::string fresh =
        (std::filesystem::path(ME_BINARY_PATH).parent_path() / "recipes.md").string();
    std::ofstream(fresh) << expected;
    FAIL(fmt::format("{} is stale; regenerate it with:\n  cp {} {}", committed_path, fresh,
                     committed_path));
  }
  CHECK(expected.find("| `weight_decay` | float | `0.01` | >= 0 |") != std::string::npos);
  CHECK(expected.find("| `num_layers` | int | **required** | >= 1 |") != std::string::npos);
  CHECK(expected.find("| `lr_decay_style` | string | `linear` | `constant`, `linear`, `cosine`, "
                      "`inverse-square-root`, `WSD` |") != std::string::npos);
}

}  // namespace me::test
