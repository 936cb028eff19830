// Whether kernels may trade bitwise reproducibility for speed (PyTorch's
// use_deterministic_algorithms): Megatron's train.deterministic_mode, set once by the trainer.
// Every kernel of ours is deterministic regardless; the switch reaches library kernels that are
// not by default (cuDNN's attention backward accumulates dQ with atomics unless told otherwise).
#pragma once

namespace me {

// True until set otherwise, so tests and tools get reproducible results by default.
bool deterministic_algorithms();
void set_deterministic_algorithms(bool deterministic);

}  // namespace me
