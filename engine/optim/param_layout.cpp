// ParamLayout::plan: Megatron's buffer layout (param starts aligned, buckets cut by size in
// backprop order, bucket ends padded for data-parallel sharding).
#include "engine/optim/param_layout.h"

#include <fmt/format.h>

#include <numeric>

#include "engine/core/error.h"

namespace me {

int64_t pad_to_multiple(int64_t value, int64_t divisor) {
  return (value + divisor - 1) / divisor * divisor;
}

int64_t bucket_end_divisor(int64_t data_parallel_size) {
  return std::lcm(data_parallel_size, int64_t{128});
}

namespace {

void validate(const ParamLayoutOptions& options) {
  if (options.align < 1) {
    throw Error(fmt::format("must be >= 1, got {}", options.align), "param_layout.align");
  }
  if (options.bucket_elems < 0) {
    throw Error(fmt::format("must be >= 0 (0 = one bucket), got {}", options.bucket_elems),
                "param_layout.bucket_elems");
  }
  if (options.data_parallel_size < 1) {
    throw Error(fmt::format("must be >= 1, got {}", options.data_parallel_size),
                "param_layout.data_parallel_size");
  }
}

}  // namespace

ParamLayout ParamLayout::plan(const std::vector<Parameter*>& params_in_forward_order,
                              const ParamLayoutOptions& options) {
  validate(options);
  const int64_t bucket_divisor = bucket_end_divisor(options.data_parallel_size);
  ParamLayout layout;
  int64_t bucket_begin = 0;
  int64_t next_start = 0;
  int64_t last_param_end = 0;
  bool bucket_open = false;
  auto close_bucket = [&](int64_t param_end) {
    const int64_t end = pad_to_multiple(param_end, bucket_divisor);
    layout.buckets.emplace_back(bucket_begin, end);
    bucket_begin = end;
    bucket_open = false;
    return end;
  };
  for (auto it = params_in_forward_order.rbegin(); it != params_in_forward_order.rend(); ++it) {
    Parameter* param = *it;
    ME_CHECK(param != nullptr, "null parameter in the layout");
    const int64_t start = pad_to_multiple(next_start, options.align);
    const int64_t end = start + param->numel();
    layout.slots.push_back({param, start, static_cast<int64_t>(layout.buckets.size())});
    bucket_open = true;
    last_param_end = end;
    // Megatron closes the bucket as soon as it reaches the size, so a big parameter is never split.
    if (options.bucket_elems > 0 && end - bucket_begin >= options.bucket_elems) {
      next_start = close_bucket(end);
    } else {
      next_start = end;
    }
  }
  if (bucket_open) close_bucket(last_param_end);
  layout.total_elems = layout.buckets.empty() ? 0 : layout.buckets.back().second;
  return layout;
}

}  // namespace me
