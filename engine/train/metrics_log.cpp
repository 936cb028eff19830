// Formats the log line like Megatron's and writes JSON metrics lines and TensorBoard scalars
// (Megatron's tag names, step = iteration).
#include "engine/train/metrics_log.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"

namespace me {

MetricsLog::MetricsLog(const Recipe& recipe, bool enabled) : enabled_(enabled) {
  if (!enabled_) return;
  const LoggingConfig& logging = recipe.logging;
  if (logging.metrics_file) {
    const std::filesystem::path path(*logging.metrics_file);
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    file_.open(path, std::ios::app);
    if (!file_) throw Error("cannot open the metrics file for appending", "logging.metrics_file");
  }
  if (logging.tensorboard_dir) {
    tensorboard_ = std::make_unique<TensorBoardWriter>(*logging.tensorboard_dir);
    timers_to_tensorboard_ = logging.log_timers_to_tensorboard;
    // Markdown: a fenced block keeps the YAML's indentation in TensorBoard's text tab.
    tensorboard_->text("recipe", 0, "```\n" + recipe_to_yaml(recipe) + "```");
  }
}

void MetricsLog::train(const TrainLogRecord& r) {
  if (!enabled_) return;
  std::string line = fmt::format(
      "iteration {:>8}/{:>8} | consumed samples: {:>10} | elapsed time per iteration (ms): "
      "{:.1f} | tokens/s: {:.0f} | learning rate: {:.6E} | global batch size: {:>5} | lm loss: "
      "{:.6E} | grad norm: {:.3f}",
      r.iteration, r.train_iters, r.consumed_samples, r.ms_per_iteration, r.tokens_per_second, r.lr,
      r.batch_size, r.loss, r.grad_norm);
  if (r.loss_scale) line += fmt::format(" | loss scale: {:.1f}", *r.loss_scale);
  line += fmt::format(" | number of skipped iterations: {:>3}", r.skipped_iterations);
  spdlog::info("{}", line);
  if (!r.timers.empty())
    spdlog::info("time per iteration (ms, max over ranks) | {}", format_timers(r.timers));
  write_tensorboard(r);
  if (!file_.is_open()) return;
  nlohmann::json json = {{"iteration", r.iteration},
                         {"loss", r.loss},
                         {"lr", r.lr},
                         {"grad_norm", r.grad_norm},
                         {"batch_size", r.batch_size},
                         {"skipped_iterations", r.skipped_iterations},
                         {"tokens_per_second", r.tokens_per_second},
                         {"consumed_samples", r.consumed_samples},
                         {"ms_per_iteration", r.ms_per_iteration},
                         {"elapsed_seconds", r.elapsed_seconds},
                         {"memory_allocated_bytes", r.memory_allocated_bytes},
                         {"memory_peak_bytes", r.memory_peak_bytes},
                         {"memory_reserved_bytes", r.memory_reserved_bytes}};
  if (r.loss_scale) json["loss_scale"] = *r.loss_scale;
  nlohmann::json timers = nlohmann::json::object();
  for (const TimerReading& t : r.timers) timers[t.name] = t.ms_per_iteration;
  json["timers_ms"] = timers;
  file_ << json.dump() << '\n' << std::flush;
}

void MetricsLog::write_tensorboard(const TrainLogRecord& r) {
  if (!tensorboard_) return;
  const int64_t step = r.iteration;
  tensorboard_->scalar("lm loss", step, r.loss);
  tensorboard_->scalar("learning-rate", step, r.lr);
  tensorboard_->scalar("grad-norm", step, r.grad_norm);
  tensorboard_->scalar("batch-size", step, static_cast<double>(r.batch_size));
  if (r.loss_scale) tensorboard_->scalar("loss-scale", step, *r.loss_scale);
  tensorboard_->scalar("skipped-iterations", step, static_cast<double>(r.skipped_iterations));
  tensorboard_->scalar("tokens-per-second", step, r.tokens_per_second);
  tensorboard_->scalar("iteration-time", step, r.ms_per_iteration / 1000.0);
  tensorboard_->scalar("mem-allocated-bytes", step, r.memory_allocated_bytes);
  tensorboard_->scalar("mem-max-allocated-bytes", step, r.memory_peak_bytes);
  tensorboard_->scalar("mem-reserved-bytes", step, r.memory_reserved_bytes);
  if (!timers_to_tensorboard_) return;
  for (const TimerReading& t : r.timers)
    tensorboard_->scalar(t.name + "-time", step, t.ms_per_iteration);
}

void MetricsLog::validation(int64_t iteration, double valid_loss) {
  if (!enabled_) return;
  const double ppl = std::exp(std::min(valid_loss, 20.0));
  spdlog::info("validation loss at iteration {} | lm loss value: {:.6E} | lm loss PPL: {:.6E}",
               iteration, valid_loss, ppl);
  if (tensorboard_) {
    tensorboard_->scalar("lm loss validation", iteration, valid_loss);
    tensorboard_->scalar("lm loss validation ppl", iteration, ppl);
  }
  if (!file_.is_open()) return;
  const nlohmann::json line = {
      {"iteration", iteration}, {"valid_loss", valid_loss}, {"valid_ppl", ppl}};
  file_ << line.dump() << '\n' << std::flush;
}

}  // namespace me
