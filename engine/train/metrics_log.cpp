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
  ME_CHECK(!r.losses.empty(), "a training log line without losses");
  std::string line = fmt::format(
      "iteration {:>8}/{:>8} | consumed samples: {:>10} | elapsed time per iteration (ms): "
      "{:.1f} | tokens/s: {:.0f} | learning rate: {:.6E} | global batch size: {:>5}",
      r.iteration, r.train_iters, r.consumed_samples, r.ms_per_iteration, r.tokens_per_second, r.lr,
      r.batch_size);
  for (const NamedValue& loss : r.losses)
    line += fmt::format(" | {}: {:.6E}", loss.name, loss.value);
  line += fmt::format(" | grad norm: {:.3f}", r.grad_norm);
  if (r.loss_scale) line += fmt::format(" | loss scale: {:.1f}", *r.loss_scale);
  line += fmt::format(" | number of skipped iterations: {:>3}", r.skipped_iterations);
  spdlog::info("{}", line);
  if (!r.timers.empty())
    spdlog::info("time per iteration (ms, max over ranks) | {}", format_timers(r.timers));
  write_tensorboard(r);
  if (!file_.is_open()) return;
  nlohmann::json losses = nlohmann::json::object();
  for (const NamedValue& loss : r.losses) losses[loss.name] = loss.value;
  nlohmann::json json = {{"iteration", r.iteration},
                         {"loss", r.losses.front().value},
                         {"losses", losses},
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
  for (const NamedValue& loss : r.losses) tensorboard_->scalar(loss.name, step, loss.value);
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

void MetricsLog::validation(int64_t iteration, const std::vector<NamedValue>& losses) {
  if (!enabled_) return;
  ME_CHECK(!losses.empty(), "a validation without losses");
  std::string line = fmt::format("validation loss at iteration {}", iteration);
  nlohmann::json values = nlohmann::json::object();
  for (const NamedValue& loss : losses) {
    const double ppl = std::exp(std::min(loss.value, 20.0));
    line +=
        fmt::format(" | {} value: {:.6E} | {} PPL: {:.6E}", loss.name, loss.value, loss.name, ppl);
    if (tensorboard_) {
      tensorboard_->scalar(loss.name + " validation", iteration, loss.value);
      tensorboard_->scalar(loss.name + " validation ppl", iteration, ppl);
    }
    values[loss.name] = loss.value;
  }
  spdlog::info("{}", line);
  if (!file_.is_open()) return;
  const double valid_loss = losses.front().value;
  const nlohmann::json json = {{"iteration", iteration},
                               {"valid_loss", valid_loss},
                               {"valid_ppl", std::exp(std::min(valid_loss, 20.0))},
                               {"valid_losses", values}};
  file_ << json.dump() << '\n' << std::flush;
}

}  // namespace me
