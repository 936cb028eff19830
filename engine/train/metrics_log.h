// Training output: the human log line (spdlog) and, with logging.metrics_file, one JSON object per
// logged iteration or evaluation (appended, flushed each line so a crash loses nothing logged).
#pragma once

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>

namespace me {

struct TrainLogRecord {
  int64_t iteration = 0;
  int64_t train_iters = 0;
  int64_t consumed_samples = 0;
  double loss = 0.0;  // averaged over the iterations since the last log line
  double lr = 0.0;
  double grad_norm = 0.0;
  double tokens_per_second = 0.0;
  double ms_per_iteration = 0.0;
  double elapsed_seconds = 0.0;
};

class MetricsLog {
 public:
  // Opens (appending) the metrics file when given; only the last rank logs, as in Megatron.
  MetricsLog(const std::optional<std::string>& metrics_file, bool enabled);
  void train(const TrainLogRecord& record);
  void validation(int64_t iteration, double valid_loss);

 private:
  bool enabled_;
  std::ofstream file_;
};

}  // namespace me
