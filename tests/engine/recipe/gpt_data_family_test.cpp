// The GPT dataset's keys (datasets/gpt_dataset_schema.cpp), moved out of DataConfig into the gpt
// family of the data section: same keys, defaults, overrides and errors as before.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "datasets/gpt_dataset_schema.h"
#include "engine/recipe/schema.h"
#include "tests/engine/recipe/recipe_fixture.h"

namespace me::test {

using Lines = std::vector<std::string>;

TEST_CASE("the gpt data family is declared beside GPTDataset and serves gpt") {
  const FieldGroup* gpt = nullptr;
  for (const auto& group : recipe_field_groups()) {
    if (group.section == "data" && group.family == "gpt") gpt = &group;
  }
  REQUIRE(gpt != nullptr);
  CHECK(gpt->file == "datasets/gpt_dataset_schema.cpp");
  CHECK(gpt->applies_to == std::vector<std::string>{"gpt"});
  std::vector<std::string> keys;
  for (const auto& field : gpt->fields) keys.push_back(field.key);
  CHECK(keys ==
        std::vector<std::string>{"eod_mask_loss", "reset_position_ids", "reset_attention_mask"});
}

TEST_CASE("gpt data keys default to false and are set as data.<key>, in files or with --set") {
  RecipeDir dir;
  const Recipe plain = load_recipe(dir.write("r.yaml", kMinimalRecipe), {});
  CHECK_FALSE(plain.family<GptDataConfig>().eod_mask_loss);
  CHECK_FALSE(plain.family<GptDataConfig>().reset_position_ids);
  CHECK_FALSE(plain.family<GptDataConfig>().reset_attention_mask);

  dir.write("minimal.yaml", kMinimalRecipe);
  const Recipe set =
      load_recipe(dir.write("child.yaml", "base: minimal.yaml\ndata:\n  eod_mask_loss: true\n"),
                  {"data.reset_position_ids=true"});
  CHECK(set.family<GptDataConfig>().eod_mask_loss);
  CHECK(set.family<GptDataConfig>().reset_position_ids);
  CHECK_FALSE(set.family<GptDataConfig>().reset_attention_mask);
  CHECK(set.data.mock_data);  // the common data keys around them are untouched

  const std::string yaml = recipe_to_yaml(set);
  const size_t data = yaml.find("\ndata:\n");
  const size_t eod = yaml.find("\n  eod_mask_loss: true\n");
  REQUIRE(eod != std::string::npos);
  CHECK(data < eod);
  CHECK(eod < yaml.find("\ntokenizer:\n"));
  CHECK(parse_recipe(yaml, set.source) == set);
  CHECK_FALSE(parse_recipe(yaml, set.source) == plain);
}

TEST_CASE("the shipped Llama base recipe sets all three") {
  const Recipe r = load_recipe(std::string(ME_SOURCE_DIR) + "/recipes/llama/llama_tiny.yaml", {});
  CHECK(r.family<GptDataConfig>().eod_mask_loss);
  CHECK(r.family<GptDataConfig>().reset_position_ids);
  CHECK(r.family<GptDataConfig>().reset_attention_mask);
}

TEST_CASE("gpt data keys report wrong types and typos as before") {
  RecipeDir dir;
  const std::string child = dir.path("child.yaml");
  CHECK(child_errors(dir,
                     "data:\n"
                     "  reset_position_ids: 1\n"  // line 3
                     "  eod_mask_los: true\n",    // line 4
                     {"data.reset_attention_mask=maybe"}) ==
        Lines{fmt::format("{}:3:3: error: 'data.reset_position_ids': expected bool, got int 1",
                          child),
              fmt::format("{}:4:3: error: unknown key 'eod_mask_los' in 'data'; did you mean "
                          "'eod_mask_loss'?",
                          child),
              "<command line>: error: 'data.reset_attention_mask': expected bool, got string "
              "\"maybe\""});
}

}  // namespace me::test
