// Field-level recipe errors: unknown sections and keys with suggestions, wrong types, ranges,
// choices, missing required keys; exact message, line, column and key.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "tests/engine/recipe/recipe_fixture.h"

namespace me::test {

using Lines = std::vector<std::string>;

TEST_CASE("unknown key in a section suggests the nearest key of that section") {
  RecipeDir dir;
  const std::string path = dir.write("tiny.yaml", std::string(kMinimalRecipe) +
                                                      "logging:\n"
                                                      "  log_intervl: 5\n");
  CHECK(load_errors(path) ==
        Lines{fmt::format("{}:11:3: error: unknown key 'log_intervl' in 'logging'; did you mean "
                          "'log_interval'?",
                          path)});
}

TEST_CASE("the brief's example: hiden_size at line 3 column 3") {
  RecipeDir dir;
  const std::string path = dir.write("tiny.yaml",
                                     "model:\n"
                                     "  num_layers: 2\n"
                                     "  hiden_size: 64\n");
  const Lines errors = load_errors(path);
  REQUIRE(!errors.empty());
  CHECK(errors[0] == fmt::format("{}:3:3: error: unknown key 'hiden_size' in 'model'; did you "
                                 "mean 'hidden_size'?",
                                 path));
}

TEST_CASE("unknown key found in another section names that section") {
  RecipeDir dir;
  CHECK(child_errors(dir, "scheduler:\n  lr: 0.1\ntrain:\n  log_interval: 5\n") ==
        Lines{fmt::format("{}:3:3: error: unknown key 'lr' in 'scheduler'; did you mean 'lr' in "
                          "'optimizer'?",
                          dir.path("child.yaml")),
              fmt::format("{}:5:3: error: unknown key 'log_interval' in 'train'; did you mean "
                          "'log_interval' in 'logging'?",
                          dir.path("child.yaml"))});
}

TEST_CASE("unknown key with no near match points at the docs") {
  RecipeDir dir;
  CHECK(child_errors(dir, "model:\n  frobnicate_widgets: 1\n") ==
        Lines{fmt::format("{}:3:3: error: unknown key 'frobnicate_widgets' in 'model' "
                          "(docs/recipes.md lists every key)",
                          dir.path("child.yaml"))});
}

TEST_CASE("unknown section suggests a section, or a key written at the top level") {
  RecipeDir dir;
  CHECK(child_errors(dir, "optimiser:\n  lr: 0.1\nhidden_size: 64\nfoo: {}\n") ==
        Lines{fmt::format("{}:2:1: error: unknown section 'optimiser'; did you mean 'optimizer'?",
                          dir.path("child.yaml")),
              fmt::format("{}:4:1: error: unknown section 'hidden_size'; did you mean "
                          "'hidden_size' in 'model'?",
                          dir.path("child.yaml")),
              fmt::format("{}:5:1: error: unknown section 'foo'; sections are: model, parallel, "
                          "data, tokenizer, train, optimizer, scheduler, mixed_precision, "
                          "checkpoint, logging",
                          dir.path("child.yaml"))});
}

TEST_CASE("a section must be a mapping") {
  RecipeDir dir;
  CHECK(child_errors(dir, "logging: 5\n") ==
        Lines{fmt::format("{}:2:1: error: section 'logging' must be a mapping of keys, got int 5",
                          dir.path("child.yaml"))});
}

TEST_CASE("wrong types are named with what was found") {
  RecipeDir dir;
  const std::string child = dir.path("child.yaml");
  CHECK(
      child_errors(dir,
                   "model:\n"
                   "  hidden_size: abc\n"      // line 3
                   "  num_layers: 2.5\n"       // line 4
                   "  seq_length: \"32\"\n"    // line 5
                   "  add_bias_linear: yes\n"  // line 6
                   "data:\n"
                   "  data_path: a.h5\n"  // line 8
                   "optimizer:\n"
                   "  lr: [1]\n"  // line 10
                   "train:\n"
                   "  train_iters: null\n"  // line 12
                   "checkpoint:\n"
                   "  save: true\n"  // line 14
                   "  load: {a: 1}\n") ==
      Lines{
          fmt::format("{}:3:3: error: 'model.hidden_size': expected int, got string \"abc\"",
                      child),
          fmt::format("{}:4:3: error: 'model.num_layers': expected int, got float 2.5", child),
          fmt::format("{}:5:3: error: 'model.seq_length': expected int, got string \"32\"", child),
          fmt::format("{}:6:3: error: 'model.add_bias_linear': expected bool, got string "
                      "\"yes\"",
                      child),
          fmt::format("{}:8:3: error: 'data.data_path': expected list of strings, got string "
                      "\"a.h5\"",
                      child),
          fmt::format("{}:10:3: error: 'optimizer.lr': expected float, got a list", child),
          fmt::format("{}:12:3: error: 'train.train_iters': expected int, got null", child),
          fmt::format("{}:14:3: error: 'checkpoint.save': expected string or null, got bool "
                      "true",
                      child),
          fmt::format("{}:15:3: error: 'checkpoint.load': expected string or null, got a "
                      "mapping",
                      child),
      });
}

TEST_CASE("an int is accepted where a float is expected, and kept exactly") {
  RecipeDir dir;
  dir.write("minimal.yaml", kMinimalRecipe);
  const Recipe r = load_recipe(dir.write("c.yaml", "base: minimal.yaml\noptimizer: {lr: 1}\n"), {});
  CHECK(r.optimizer.lr == 1.0);
}

TEST_CASE("values out of range or not among the choices list what is allowed") {
  RecipeDir dir;
  const std::string child = dir.path("child.yaml");
  CHECK(
      child_errors(dir,
                   "model:\n"
                   "  hidden_dropout: 1.5\n"  // line 3
                   "  num_layers: 0\n"        // line 4
                   "  layernorm_epsilon: 0\n"
                   "scheduler:\n"
                   "  lr_decay_style: cosin\n"  // line 7
                   "train:\n"
                   "  device: gpu\n") ==  // line 9
      Lines{
          fmt::format("{}:3:3: error: 'model.hidden_dropout' = 1.5 is out of range: must be "
                      "[0, 1)",
                      child),
          fmt::format("{}:4:3: error: 'model.num_layers' = 0 is out of range: must be >= 1", child),
          fmt::format("{}:5:3: error: 'model.layernorm_epsilon' = 0.0 is out of range: must be "
                      "> 0",
                      child),
          fmt::format("{}:7:3: error: 'scheduler.lr_decay_style' = 'cosin' is not one of: "
                      "constant, linear, cosine, inverse-square-root, WSD; did you mean "
                      "'cosine'?",
                      child),
          fmt::format("{}:9:3: error: 'train.device' = 'gpu' is not one of: cpu, cuda; did you "
                      "mean 'cpu'?",
                      child),
      });
}

TEST_CASE("model.type must name a registered model, checked where it is written") {
  RecipeDir dir;
  const std::string child = dir.path("child.yaml");
  CHECK(child_errors(dir, "model:\n  type: gtp\n") ==
        Lines{fmt::format("{}:3:3: error: 'model.type' = 'gtp' is not a registered model (known: "
                          "gpt); did you mean 'gpt'?",
                          child)});
  CHECK(child_errors(dir, "", {"model.type=mamba"}) ==
        Lines{"<command line>: error: 'model.type' = 'mamba' is not a registered model (known: "
              "gpt)"});
  // The same check for a stored recipe (a checkpoint's) and for `megatron-engine plan`.
  std::string stored = kMinimalRecipe;
  stored.replace(0, 7, "model:\n  type: bert\n");
  const std::string expected = "'model.type' = 'bert' is not a registered model (known: gpt)";
  CHECK_THROWS_WITH_AS(parse_recipe(stored, "<checkpoint>"),
                       ("<checkpoint>:2:3: error: " + expected).c_str(), ErrorList);
  const std::string path = dir.write("bert.yaml", stored);
  CHECK_THROWS_WITH_AS(load_recipe(path, {}, 1, RecipePurpose::kPlan),
                       fmt::format("{}:2:3: error: {}", path, expected).c_str(), ErrorList);
}

TEST_CASE("missing required keys point at their section, or at the file without one") {
  RecipeDir dir;
  const std::string path = dir.write("r.yaml",
                                     "# no optimizer section\n"
                                     "model:\n"
                                     "  num_layers: 2\n"
                                     "  num_attention_heads: 4\n"
                                     "  seq_length: 32\n"
                                     "  max_position_embeddings: 32\n"
                                     "data: {mock_data: true}\n"
                                     "train: {micro_batch_size: 2, train_iters: 10}\n");
  CHECK(load_errors(path) ==
        Lines{fmt::format("{}:2:1: error: missing required key 'hidden_size' in 'model'", path),
              fmt::format("{}: error: missing required key 'lr' in 'optimizer'", path)});
}

TEST_CASE("every required key is reported for an empty recipe") {
  RecipeDir dir;
  const std::string path = dir.write("empty.yaml", "# nothing\n");
  const Lines errors = load_errors(path);
  const Lines required = {"num_layers", "hidden_size", "num_attention_heads", "seq_length",
                          "max_position_embeddings"};
  REQUIRE(errors.size() == 9);  // 8 required keys and the data source rule
  for (size_t i = 0; i < required.size(); ++i) {
    CHECK(errors[i] ==
          fmt::format("{}: error: missing required key '{}' in 'model'", path, required[i]));
  }
  CHECK(errors[5] ==
        fmt::format("{}: error: missing required key 'micro_batch_size' in 'train'", path));
  CHECK(errors[6] == fmt::format("{}: error: missing required key 'train_iters' in 'train'", path));
  CHECK(errors[7] == fmt::format("{}: error: missing required key 'lr' in 'optimizer'", path));
  CHECK(errors[8] == fmt::format("{}: error: set data.data_path or data.mock_data: true", path));
}

TEST_CASE("several kinds of error are reported together, in file order then rules") {
  RecipeDir dir;
  const std::string child = dir.path("child.yaml");
  CHECK(
      child_errors(dir,
                   "model:\n"
                   "  hiden_size: 64\n"  // line 3
                   "  seq_length: 64\n"  // line 4: > max_position_embeddings 32
                   "optimizer:\n"
                   "  lr: fast\n"     // line 6
                   "  min_lr: 0.5\n"  // line 7: lr is invalid, so min_lr <= lr is skipped
                   "train:\n"
                   "  micro_batch_size: -1\n") ==  // line 9
      Lines{
          fmt::format("{}:3:3: error: unknown key 'hiden_size' in 'model'; did you mean "
                      "'hidden_size'?",
                      child),
          fmt::format("{}:6:3: error: 'optimizer.lr': expected float, got string \"fast\"", child),
          fmt::format("{}:9:3: error: 'train.micro_batch_size' = -1 is out of range: must be "
                      ">= 1",
                      child),
          fmt::format("{}:4:3: error: model.seq_length (64) must be <= "
                      "model.max_position_embeddings (32)",
                      child),
      });
}

TEST_CASE("invalid YAML names the file, line and column") {
  RecipeDir dir;
  const std::string path = dir.write("bad.yaml", "model:\n  num_layers: [2\n");
  const Lines errors = load_errors(path);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].rfind(path + ":", 0) == 0);
  CHECK(errors[0].find("error: invalid YAML: ") != std::string::npos);
}

TEST_CASE("a duplicate key in one file is an error naming both places") {
  RecipeDir dir;
  CHECK(child_errors(dir, "model:\n  hidden_size: 64\n  hidden_size: 32\n") ==
        Lines{fmt::format("{0}:4:3: error: duplicate key 'hidden_size' (first at {0}:3:3)",
                          dir.path("child.yaml"))});
}

TEST_CASE("an unreadable recipe file is an error naming it") {
  CHECK(load_errors("/nonexistent/recipe.yaml") ==
        Lines{"/nonexistent/recipe.yaml: error: cannot read recipe file"});
}

}  // namespace me::test
