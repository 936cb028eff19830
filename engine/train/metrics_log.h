// Training output: the human log line (spdlog), with logging.metrics_file one JSON object per
// logged iteration or evaluation (appended, flushed each line so a crash loses nothing logged),
// and with logging.tensorboard_dir the same values as TensorBoard scalars.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/recipe/recipe.h"
#include "engine/train/loss_totals.h"
#include "engine/train/tensorboard_writer.h"
#include "engine/distributed/timers.h"

namespace me {

struct TrainLogRecord {
  int64_t iteration = 0;
  int64_t train_iters = 0;
  int64_t consumed_samples = 0;
  int64_t batch_size = 0;  // global batch size (sequences per iteration)
  // Each of the model's losses averaged over the iterations since the last log line; the first is
  // the metrics file's `loss`.
  std::vector<NamedValue> losses;
  double lr = 0.0;
  double grad_norm = 0.0;
  std::optional<double> loss_scale;  // fp16/bf16 runs with a loss scaler
  int64_t skipped_iterations = 0;    // since the last log line: overflow or spike, no update
  double tokens_per_second = 0.0;
  double ms_per_iteration = 0.0;
  double elapsed_seconds = 0.0;
  double memory_allocated_bytes = 0.0;  // tensors on the training device now
  double memory_peak_bytes = 0.0;
  double memory_reserved_bytes = 0.0;
  std::vector<TimerReading> timers;  // ms per iteration, slowest rank
};

class MetricsLog {
 public:
  // Opens (appending) the metrics file and the TensorBoard writer when the recipe names them,
  // and writes the resolved recipe to TensorBoard as text; only the last rank logs, as in
  // Megatron.
  MetricsLog(const Recipe& recipe, bool enabled);
  void train(const TrainLogRecord& record);
  // The validation losses (the first is the metrics file's `valid_loss`).
  void validation(int64_t iteration, const std::vector<NamedValue>& losses);

 private:
  void write_tensorboard(const TrainLogRecord& record);

  bool enabled_;
  bool timers_to_tensorboard_ = false;
  std::ofstream file_;
  std::unique_ptr<TensorBoardWriter> tensorboard_;
};

}  // namespace me
