// MetricsLog with a model of two named losses: the metrics file's `loss` is the first, `losses`
// and `valid_losses` hold each by name, and TensorBoard gets a scalar per loss name (train,
// validation and validation perplexity).
#include "engine/train/metrics_log.h"

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

std::vector<nlohmann::json> lines_of(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::string events_of(const std::string& dir) {
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  return "";
}

TEST_CASE("every named loss is logged under its name in the metrics file and TensorBoard") {
  testing::TempDir dir;
  Recipe recipe = test::tiny_gpt_recipe();
  recipe.logging.metrics_file = dir / "metrics.jsonl";
  recipe.logging.tensorboard_dir = dir / "tb";
  {
    MetricsLog log(recipe, true);
    TrainLogRecord record;
    record.iteration = 3;
    record.losses = {{"lm loss", 2.5}, {"sop loss", 0.625}};
    log.train(record);
    log.validation(3, {{"lm loss", 2.0}, {"sop loss", 0.5}});
  }
  const auto lines = lines_of(dir / "metrics.jsonl");
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["loss"].get<double>() == 2.5);
  CHECK(lines[0]["losses"]["lm loss"].get<double>() == 2.5);
  CHECK(lines[0]["losses"]["sop loss"].get<double>() == 0.625);
  CHECK(lines[1]["valid_loss"].get<double>() == 2.0);
  CHECK(lines[1]["valid_ppl"].get<double>() == doctest::Approx(std::exp(2.0)).epsilon(1e-15));
  CHECK(lines[1]["valid_losses"]["sop loss"].get<double>() == 0.5);
  const std::string events = events_of(dir / "tb");
  for (const char* tag : {"lm loss", "sop loss", "lm loss validation", "sop loss validation",
                          "sop loss validation ppl"}) {
    CAPTURE(tag);
    CHECK(events.find(tag) != std::string::npos);
  }
}

}  // namespace
}  // namespace me
