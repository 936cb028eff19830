// A lock-free flag set from the signal handler and polled by the trainer once per iteration.
#include "engine/train/exit_signal.h"

#include <csignal>
#include <cstdlib>

namespace me {
namespace {

volatile std::sig_atomic_t g_signal = 0;

extern "C" void on_exit_signal(int signal) {
  if (g_signal != 0) std::_Exit(128 + signal);
  g_signal = signal;
}

}  // namespace

void install_exit_signal_handler() {
  std::signal(SIGTERM, on_exit_signal);
  std::signal(SIGINT, on_exit_signal);
}

bool exit_signal_received() { return g_signal != 0; }

}  // namespace me
