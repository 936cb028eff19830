// The model-family redesign keeps GPT's and Llama's numbers: the fixed 20-step runs of
// tests/data/baseline/losses.json (tiny GPT and tiny Llama, with dropout, on one rank and on
// tp 2 x pp 2), recorded on main at b1d6e62 before it by
// scripts/fixtures/record_baseline_losses.py, still give exactly those losses, gradient norms and
// validation losses, bit for bit.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/functional/metrics.h"
#include "tests/support/mpi_launch.h"
#include "tests/support/process.h"
#include "tests/support/test_paths.h"

using namespace me::testing;

namespace {

// Every value the metrics file carries under `key`, in order (train lines, or validation lines).
std::vector<double> metric_values(const std::string& path, const std::string& key) {
  std::vector<double> out;
  for (const auto& [iteration, value] : metric_series(path, key)) out.push_back(value);
  return out;
}

}  // namespace

TEST_CASE("GPT and Llama keep their recorded 20-step losses bitwise") {
  const std::string root = me::test::source_dir();
  std::ifstream in(root + "/tests/data/baseline/losses.json");
  REQUIRE(in.good());
  const auto baseline = nlohmann::json::parse(in);
  std::string env;
  for (const auto& [name, value] : baseline["env"].items()) {
    env += fmt::format("{}={} ", name, value.get<std::string>());
  }
  REQUIRE(baseline["runs"].size() == 4);
  TempDir dir;
  for (const auto& [name, run] : baseline["runs"].items()) {
    CAPTURE(name);
    std::string file = name + ".jsonl";
    std::replace(file.begin(), file.end(), '/', '_');
    const std::string metrics = dir / file;
    std::string args = fmt::format("--recipe {}/{} --set logging.metrics_file={}", root,
                                   baseline["recipe"].get<std::string>(), metrics);
    for (const auto& set : run["sets"]) args += " --set " + set.get<std::string>();
    const int ranks = run["ranks"].get<int>();
    const std::string launcher = ranks == 1 ? "" : mpirun_prefix(ranks) + " ";
    const auto result =
        run_command(fmt::format("env {}{}{} {}", env, launcher, me::test::binary_path(), args));
    REQUIRE_MESSAGE(result.exit_code == 0, result.output);
    for (const char* key : {"loss", "grad_norm", "valid_loss"}) {
      CAPTURE(key);
      const auto expected = run[key].get<std::vector<double>>();
      REQUIRE(expected.size() == (std::string(key) == "valid_loss" ? 2u : 20u));
      CHECK(metric_values(metrics, key) == expected);
    }
  }
}
