// How the host loops split work across OpenMP threads. Threads only ever own whole outputs (rows,
// elements or column blocks) and every reduction runs in a fixed order, so results are bitwise
// identical for any thread count.
#pragma once

#include <cstdint>

namespace me::cpu {

// Below this many element operations a parallel region costs more than it saves (and an
// oversubscribed host makes spinning threads far slower), so small loops run on one thread.
inline constexpr int64_t kParallelMinWork = int64_t{1} << 15;
inline bool worth_threads(int64_t work) { return work >= kParallelMinWork; }

// Width of the channel blocks that column reductions (bias, LayerNorm weight, embedding grads)
// hand to threads: each thread owns whole columns, so every sum runs over rows in order.
inline constexpr int64_t kColumnBlock = 64;

}  // namespace me::cpu
