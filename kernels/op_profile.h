// Per-op GPU time for finding where a step goes (no Nsight on the GPU machine): with
// ME_PROFILE_OPS=1 in the environment, every CUDA op entry point synchronises the device before
// and after its kernels and adds the wall time to a table by op name, printed to stderr at exit.
// Off (one cached flag test per op) otherwise; the synchronisation makes profiled steps slower.
#pragma once

namespace me {

bool op_profiling_enabled();
// Forgets what was timed so far: the trainer calls it after its first iteration, whose calls build
// cuDNN graphs and cuBLASLt plans, so the table shows the steady state.
void reset_op_profile();

// Times one op call when profiling is on.
class OpProfileScope {
 public:
  explicit OpProfileScope(const char* op);
  ~OpProfileScope();
  OpProfileScope(const OpProfileScope&) = delete;
  OpProfileScope& operator=(const OpProfileScope&) = delete;

 private:
  const char* op_;
  double start_ = 0.0;
};

}  // namespace me
