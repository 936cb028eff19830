// Ingest progress: a bar redrawn in place on a terminal (bytes done/total, MB/s, ETA) or, when
// stderr is not a terminal, a log line every few seconds.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace me {

// "[#######.............]  35.0%  35.00/100.00 MB  7.00 MB/s  ETA 0:09  1234 docs" (bar width 20);
// ETA "?" before any speed is known.
std::string format_progress(int64_t bytes_done, int64_t bytes_total, double seconds,
                            int64_t documents);

class IngestProgress {
 public:
  // `terminal`: redraw a bar on stderr (at most 10 times a second); else log every
  // `log_seconds` seconds through spdlog.
  IngestProgress(int64_t bytes_total, bool terminal, double log_seconds = 10.0);
  // Whether stderr is a terminal.
  static bool stderr_is_terminal();
  void update(int64_t bytes_done, int64_t documents);
  // Ends the bar's line (terminal only).
  void finish();

 private:
  double elapsed() const;

  int64_t bytes_total_;
  bool terminal_;
  double interval_;
  double last_shown_ = 0;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace me
