// Waits for every kernel queued on the current CUDA device (the op profiler's boundaries).
#pragma once

namespace me::cuda {

void synchronize_current_device();

}  // namespace me::cuda
