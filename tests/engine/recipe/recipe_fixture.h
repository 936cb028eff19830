// Recipe test helpers: YAML fixture files in a fresh temporary directory, and the error lines a
// load or parse throws.
#pragma once

#include <doctest/doctest.h>

#include <unistd.h>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/recipe/recipe.h"

namespace doctest {
// Error lists print one per line when a CHECK fails.
template <>
struct StringMaker<std::vector<std::string>> {
  static String convert(const std::vector<std::string>& lines) {
    std::string out = "{";
    for (const auto& line : lines) out += "\n  " + line;
    return (out + "\n}").c_str();
  }
};
}  // namespace doctest

namespace me::test {

// A temporary directory removed when the test ends.
class RecipeDir {
 public:
  RecipeDir() {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("me_recipe_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(dir_);
  }
  ~RecipeDir() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  RecipeDir(const RecipeDir&) = delete;
  RecipeDir& operator=(const RecipeDir&) = delete;

  // Writes `text` to `name` in the directory and returns the file's path.
  std::string write(const std::string& name, const std::string& text) const {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
};

// A complete, valid recipe with every required key (9 lines).
inline const char* kMinimalRecipe =
    "model:\n"
    "  num_layers: 2\n"
    "  hidden_size: 64\n"
    "  num_attention_heads: 4\n"
    "  seq_length: 32\n"
    "  max_position_embeddings: 32\n"
    "data: {mock_data: true}\n"
    "train: {micro_batch_size: 2, train_iters: 10}\n"
    "optimizer: {lr: 0.001}\n";

// Every error line load_recipe throws ("where: error: message"); empty when the recipe loads.
inline std::vector<std::string> load_errors(const std::string& path,
                                            const std::vector<std::string>& overrides = {},
                                            int64_t world_size = 1) {
  try {
    load_recipe(path, overrides, world_size);
  } catch (const ErrorList& list) {
    std::vector<std::string> lines;
    for (const auto& e : list.errors()) lines.push_back(e.what());
    return lines;
  }
  return {};
}

// Errors for `child_text` written as child.yaml on top of `base: minimal.yaml` (kMinimalRecipe);
// the child's own text starts on line 2.
inline std::vector<std::string> child_errors(const RecipeDir& dir, const std::string& child_text,
                                             const std::vector<std::string>& overrides = {},
                                             int64_t world_size = 1) {
  dir.write("minimal.yaml", kMinimalRecipe);
  return load_errors(dir.write("child.yaml", "base: minimal.yaml\n" + child_text), overrides,
                     world_size);
}

}  // namespace me::test
