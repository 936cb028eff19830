// Reading the trainer's metrics file (logging.metrics_file) in end-to-end tests.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace me::testing {

// Training losses by iteration (validation lines skipped).
inline std::map<int64_t, double> train_losses(const std::string& path) {
  std::map<int64_t, double> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) out[j["iteration"].get<int64_t>()] = j["loss"].get<double>();
  }
  return out;
}

}  // namespace me::testing
