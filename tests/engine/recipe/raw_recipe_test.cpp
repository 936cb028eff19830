// Loading before validation: base chains (override order, origins, missing files, cycles) and
// --set overrides (precedence, YAML values, malformed overrides).
#include "engine/recipe/raw_recipe.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "tests/engine/recipe/recipe_fixture.h"

namespace me::test {

using Lines = std::vector<std::string>;

namespace {

// grand.yaml (complete) <- parent.yaml <- child.yaml, each overriding some keys.
std::string write_chain(const RecipeDir& dir) {
  dir.write("grand.yaml",
            "model:\n"
            "  num_layers: 2\n"
            "  hidden_size: 64\n"  // line 3
            "  num_attention_heads: 4\n"
            "  seq_length: 32\n"
            "  max_position_embeddings: 32\n"
            "data: {mock_data: true}\n"
            "optimizer: {lr: 0.001}\n"
            "train:\n"
            "  micro_batch_size: 2\n"
            "  train_iters: 10\n"
            "  seed: 1\n"
            "  eval_iters: 7\n");  // line 13
  dir.write("sub/parent.yaml",
            "base: ../grand.yaml\n"
            "optimizer:\n"
            "  lr: 0.2\n"  // line 3
            "train:\n"
            "  seed: 2\n");  // line 5
  return dir.write("sub/child.yaml",
                   "base: parent.yaml\n"
                   "optimizer:\n"
                   "  lr: 0.3\n"  // line 3
                   "  weight_decay: 0.05\n");
}

}  // namespace

TEST_CASE("a chain of three bases overrides key by key, keeping each key's origin") {
  RecipeDir dir;
  std::filesystem::create_directories(dir.path("sub"));
  const std::string child = write_chain(dir);
  const RawRecipe raw = load_raw_recipe(child);
  CHECK(raw.source == child);
  REQUIRE(raw.find("optimizer", "lr"));
  CHECK(raw.find("optimizer", "lr")->origin.where() == child + ":3:3");
  CHECK(raw.find("train", "seed")->origin.where() == dir.path("sub/parent.yaml") + ":5:3");
  CHECK(raw.find("train", "eval_iters")->origin.where() == dir.path("grand.yaml") + ":13:3");
  CHECK(raw.find("model", "hidden_size")->origin.where() == dir.path("grand.yaml") + ":3:3");

  const Recipe r = load_recipe(child, {});
  CHECK(r.optimizer.lr == 0.3);
  CHECK(r.optimizer.weight_decay == 0.05);
  CHECK(r.train.seed == 2);
  CHECK(r.train.eval_iters == 7);
  CHECK(r.model.hidden_size == 64);
  CHECK(r.source == child);
}

TEST_CASE("an error in a base is reported at the base file's line") {
  RecipeDir dir;
  std::filesystem::create_directories(dir.path("sub"));
  dir.write("grand.yaml", std::string(kMinimalRecipe) + "logging:\n  log_interval: 0\n");
  dir.write("sub/parent.yaml", "base: ../grand.yaml\n");
  const std::string child = dir.write("sub/child.yaml", "base: parent.yaml\n");
  CHECK(
      load_errors(child) ==
      Lines{fmt::format("{}:11:3: error: 'logging.log_interval' = 0 is out of range: must be >= 1",
                        dir.path("grand.yaml"))});
}

TEST_CASE("a missing base file names the including file and line") {
  RecipeDir dir;
  const std::string path = dir.write("child.yaml", "# comment\nbase: nowhere/missing.yaml\n");
  CHECK(load_errors(path) ==
        Lines{fmt::format("{}:2:1: error: base file 'nowhere/missing.yaml' not found (looked for "
                          "{})",
                          path, dir.path("nowhere/missing.yaml"))});
}

TEST_CASE("a base cycle lists the chain") {
  RecipeDir dir;
  const std::string a = dir.write("a.yaml", "base: b.yaml\n");
  const std::string b = dir.write("b.yaml", "model: {}\nbase: a.yaml\n");
  CHECK(load_errors(a) ==
        Lines{fmt::format("{1}:2:1: error: base cycle: {0} -> {1} -> {0}", a, b)});
  const std::string self = dir.write("self.yaml", "base: self.yaml\n");
  CHECK(load_errors(self) == Lines{fmt::format("{0}:1:1: error: base cycle: {0} -> {0}", self)});
}

TEST_CASE("base must name a file") {
  RecipeDir dir;
  const std::string path = dir.write("r.yaml", "base: [a.yaml]\n");
  CHECK(load_errors(path) == Lines{path + ":1:1: error: 'base' must name a recipe file"});
}

TEST_CASE("--set wins over the file and its bases") {
  RecipeDir dir;
  std::filesystem::create_directories(dir.path("sub"));
  const std::string child = write_chain(dir);
  const Recipe r =
      load_recipe(child, {"optimizer.lr=0.5", "train.eval_iters=9", "model.hidden_size=128",
                          "logging.metrics_file=out/metrics.jsonl"});
  CHECK(r.optimizer.lr == 0.5);    // set in child
  CHECK(r.train.eval_iters == 9);  // set in grand
  CHECK(r.model.hidden_size == 128);
  CHECK(r.logging.metrics_file == std::optional<std::string>("out/metrics.jsonl"));
  CHECK(r.train.seed == 2);  // untouched

  RawRecipe raw = load_raw_recipe(child);
  apply_overrides(raw, {"optimizer.lr=0.5"});
  CHECK(raw.find("optimizer", "lr")->origin.where() == "<command line>");
}

TEST_CASE("--set values are YAML: lists, ints, floats, bools, null") {
  RecipeDir dir;
  const std::string path = dir.write("r.yaml", kMinimalRecipe);
  const Recipe r = load_recipe(
      path, {"data.data_path=[a.h5,b.h5]", "data.mock_data=false", "train.train_iters=3",
             "optimizer.lr=1e-4", "model.untie_embeddings_and_output_weights=true",
             "train.eval_interval=", "data.split=98,2,0", "checkpoint.save=a=b",
             "checkpoint.save_interval=5"});
  CHECK(r.data.data_path == std::vector<std::string>{"a.h5", "b.h5"});
  CHECK(r.data.mock_data == false);
  CHECK(r.train.train_iters == std::optional<int64_t>(3));
  CHECK(r.optimizer.lr == 1e-4);
  CHECK(r.model.untie_embeddings_and_output_weights == true);
  CHECK(!r.train.eval_interval);
  CHECK(r.data.split == "98,2,0");
  CHECK(r.checkpoint.save == std::optional<std::string>("a=b"));
}

TEST_CASE("--set values are checked like file values, at <command line>") {
  RecipeDir dir;
  const std::string path = dir.write("r.yaml", kMinimalRecipe);
  CHECK(load_errors(path, {"model.hidden_size=abc", "model.hiden_size=3", "optimiser.lr=1"}) ==
        Lines{"<command line>: error: 'model.hidden_size': expected int, got string \"abc\"",
              "<command line>: error: unknown key 'hiden_size' in 'model'; did you mean "
              "'hidden_size'?",
              "<command line>: error: unknown section 'optimiser'; did you mean 'optimizer'?"});
}

TEST_CASE("malformed --set overrides are all reported") {
  RecipeDir dir;
  const std::string path = dir.write("r.yaml", kMinimalRecipe);
  const char* hint = "expected section.key=value, e.g. train.train_iters=100";
  CHECK(
      load_errors(path,
                  {"train_iters=5", "model.hidden_size", ".lr=1", "model.=3", "optimizer.lr=[1"}) ==
      Lines{fmt::format("<command line>: error: malformed override 'train_iters=5': {}", hint),
            fmt::format("<command line>: error: malformed override 'model.hidden_size': {}", hint),
            fmt::format("<command line>: error: malformed override '.lr=1': {}", hint),
            fmt::format("<command line>: error: malformed override 'model.=3': {}", hint),
            "<command line>: error: override 'optimizer.lr=[1': value is not valid YAML: end "
            "of sequence flow not found"});
}

TEST_CASE("a stored recipe may not name a base") {
  try {
    parse_recipe("base: x.yaml\n", "<checkpoint>");
    FAIL("expected an error");
  } catch (const ErrorList& e) {
    REQUIRE(e.errors().size() == 1);
    CHECK(std::string(e.errors()[0].what()) ==
          "<checkpoint>:1:1: error: 'base' is only allowed in recipe files, not in <checkpoint>");
  }
}

}  // namespace me::test
