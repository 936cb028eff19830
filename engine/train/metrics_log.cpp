// Formats the log line like Megatron's and writes JSON metrics lines.
#include "engine/train/metrics_log.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"

namespace me {

MetricsLog::MetricsLog(const std::optional<std::string>& metrics_file, bool enabled)
    : enabled_(enabled) {
  if (!enabled_ || !metrics_file) return;
  const std::filesystem::path path(*metrics_file);
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  file_.open(path, std::ios::app);
  if (!file_) throw Error("cannot open the metrics file for appending", "logging.metrics_file");
}

void MetricsLog::train(const TrainLogRecord& r) {
  if (!enabled_) return;
  spdlog::info(
      "iteration {:>8}/{:>8} | consumed samples: {:>10} | elapsed time per iteration (ms): "
      "{:.1f} | tokens/s: {:.0f} | learning rate: {:.6E} | lm loss: {:.6E} | grad norm: {:.3f}",
      r.iteration, r.train_iters, r.consumed_samples, r.ms_per_iteration, r.tokens_per_second, r.lr,
      r.loss, r.grad_norm);
  if (!file_.is_open()) return;
  const nlohmann::json line = {{"iteration", r.iteration},
                               {"loss", r.loss},
                               {"lr", r.lr},
                               {"grad_norm", r.grad_norm},
                               {"tokens_per_second", r.tokens_per_second},
                               {"consumed_samples", r.consumed_samples},
                               {"ms_per_iteration", r.ms_per_iteration},
                               {"elapsed_seconds", r.elapsed_seconds}};
  file_ << line.dump() << '\n' << std::flush;
}

void MetricsLog::validation(int64_t iteration, double valid_loss) {
  if (!enabled_) return;
  const double ppl = std::exp(std::min(valid_loss, 20.0));
  spdlog::info("validation loss at iteration {} | lm loss value: {:.6E} | lm loss PPL: {:.6E}",
               iteration, valid_loss, ppl);
  if (!file_.is_open()) return;
  const nlohmann::json line = {
      {"iteration", iteration}, {"valid_loss", valid_loss}, {"valid_ppl", ppl}};
  file_ << line.dump() << '\n' << std::flush;
}

}  // namespace me
