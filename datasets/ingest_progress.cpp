// The ingest progress bar / log line and its throttling.
#include "datasets/ingest_progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <spdlog/spdlog.h>

namespace me {
namespace {

constexpr int kBarWidth = 20;

std::string format_eta(double seconds) {
  const auto total = static_cast<int64_t>(seconds + 0.5);
  if (total >= 3600) {
    return fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
  }
  return fmt::format("{}:{:02}", total / 60, total % 60);
}

}  // namespace

std::string format_progress(int64_t bytes_done, int64_t bytes_total, double seconds,
                            int64_t documents) {
  const double fraction =
      bytes_total > 0 ? std::clamp(double(bytes_done) / double(bytes_total), 0.0, 1.0) : 1.0;
  const auto filled = static_cast<int>(fraction * kBarWidth);
  const double mb_per_s = seconds > 0 ? double(bytes_done) / 1e6 / seconds : 0.0;
  const std::string eta =
      mb_per_s > 0 ? format_eta(double(bytes_total - bytes_done) / 1e6 / mb_per_s) : "?";
  return fmt::format("[{}{}] {:5.1f}%  {:.2f}/{:.2f} MB  {:.2f} MB/s  ETA {}  {} docs",
                     std::string(static_cast<size_t>(filled), '#'),
                     std::string(static_cast<size_t>(kBarWidth - filled), '.'), fraction * 100,
                     double(bytes_done) / 1e6, double(bytes_total) / 1e6, mb_per_s, eta, documents);
}

IngestProgress::IngestProgress(int64_t bytes_total, bool terminal, double log_seconds)
    : bytes_total_(bytes_total),
      terminal_(terminal),
      interval_(terminal ? 0.1 : log_seconds),
      start_(std::chrono::steady_clock::now()) {}

bool IngestProgress::stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

double IngestProgress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void IngestProgress::update(int64_t bytes_done, int64_t documents) {
  const double now = elapsed();
  if (now - last_shown_ < interval_) return;
  last_shown_ = now;
  const std::string line = format_progress(bytes_done, bytes_total_, now, documents);
  if (terminal_) {
    std::fprintf(stderr, "\r%s", line.c_str());
    std::fflush(stderr);
    shown_ = true;
  } else {
    spdlog::info("ingest: {}", line);
  }
}

void IngestProgress::finish() {
  if (terminal_ && shown_) std::fputs("\n", stderr);
}

}  // namespace me
