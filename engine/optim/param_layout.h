// Where each parameter lives in the flat parameter/gradient buffers, and how those buffers are cut
// into buckets for the data-parallel reduce (Megatron's param_layout.py /
// param_and_grad_buffer.py).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "engine/nn/parameter.h"

namespace me {

struct ParamLayoutOptions {
  int64_t align = 64;               // every parameter starts at a multiple of this (elements)
  int64_t bucket_elems = 40000000;  // a bucket is closed once it holds this many; 0 = one bucket
  int64_t data_parallel_size = 1;   // bucket ends are padded to lcm(dp, 128)
};

struct ParamSlot {
  Parameter* param;
  int64_t offset;      // elements into the flat buffer
  int64_t bucket = 0;  // index into ParamLayout::buckets
};

struct ParamLayout {
  std::vector<ParamSlot> slots;                      // backward order = increasing offset
  std::vector<std::pair<int64_t, int64_t>> buckets;  // [begin, end) element ranges, contiguous
  int64_t total_elems = 0;                           // padded total (end of the last bucket)

  // Lays parameters out in reverse of the given forward order, so the gradients backward produces
  // first fill the first bucket and its reduce can start while backward goes on. Pure function.
  static ParamLayout plan(const std::vector<Parameter*>& params_in_forward_order,
                          const ParamLayoutOptions& options);
};

// The divisor every bucket end is padded to: lcm(data_parallel_size, 128), so each bucket splits
// into equal data-parallel shards of a size NCCL handles well.
int64_t bucket_end_divisor(int64_t data_parallel_size);

// value rounded up to a multiple of divisor.
int64_t pad_to_multiple(int64_t value, int64_t divisor);

}  // namespace me
