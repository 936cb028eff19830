// Reading the trainer's metrics file (logging.metrics_file) in end-to-end tests.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace me::testing {

// A metrics-file field by iteration, from the lines that carry it.
inline std::map<int64_t, double> metric_series(const std::string& path, const std::string& key) {
  std::map<int64_t, double> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains(key)) out[j["iteration"].get<int64_t>()] = j[key].get<double>();
  }
  return out;
}

// Training losses by iteration (validation lines skipped).
inline std::map<int64_t, double> train_losses(const std::string& path) {
  return metric_series(path, "loss");
}

inline std::map<int64_t, double> grad_norms(const std::string& path) {
  return metric_series(path, "grad_norm");
}

// The recipe overrides that turn the functional tests' tiny GPT into a tiny Llama: RoPE,
// RMSNorm, SwiGLU, 2 query groups (GQA), no biases, untied output.
inline constexpr const char* kTinyLlamaSets =
    "--set model.position_embedding_type=rope --set model.normalization=RMSNorm --set "
    "model.swiglu=true --set model.group_query_attention=true --set model.num_query_groups=2 "
    "--set model.add_bias_linear=false --set model.untie_embeddings_and_output_weights=true";

}  // namespace me::testing
