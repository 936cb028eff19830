// Per group: this rank's squares weighted by what each parameter is, as one pass over the flat
// buffer where every weight is 1; then the group sums over tp and pp, each over its own shards,
// and the total.
#include "engine/distributed/grad_norm.h"

#include <algorithm>
#include <cmath>

#include "kernels/elementwise.h"

namespace me {
namespace {

// How many times this rank's gradient of `param` counts: 0 for a tied copy that is not the
// owner, 1 for a shard (or anything at tp 1), else 1/tp (every tp rank holds the same gradient).
enum class NormWeight { kSkip, kOnce, kPerTensorRank };

NormWeight norm_weight(const Parameter& param, const TensorParallel& tp) {
  if (param.tied.tied() && !param.tied.owner) return NormWeight::kSkip;
  if (tp.size == 1 || param.tensor_parallel == TensorParallelRelation::kSharded) {
    return NormWeight::kOnce;
  }
  return NormWeight::kPerTensorRank;
}

double local_sum_of_squares(const GradNormGroup& group, const TensorParallel& tp) {
  const bool all_once =
      group.flat_grads &&
      std::all_of(group.params.begin(), group.params.end(),
                  [&](const Parameter* p) { return norm_weight(*p, tp) == NormWeight::kOnce; });
  if (all_once) return sum_of_squares(*group.flat_grads);
  double sum = 0.0;
  for (const Parameter* p : group.params) {
    switch (norm_weight(*p, tp)) {
      case NormWeight::kSkip:
        break;
      case NormWeight::kOnce:
        sum += sum_of_squares(p->grad);
        break;
      case NormWeight::kPerTensorRank:
        sum += sum_of_squares(p->grad) / static_cast<double>(tp.size);
        break;
    }
  }
  return sum;
}

}  // namespace

double global_grad_norm(const std::vector<GradNormGroup>& groups, const TensorParallel& tp,
                        Communicator& pipeline) {
  std::vector<double> sums;
  for (const GradNormGroup& group : groups) sums.push_back(local_sum_of_squares(group, tp));
  const auto count = static_cast<int64_t>(sums.size());
  if (tp.size > 1) tp.comm->all_reduce_sum(sums.data(), count);
  pipeline.all_reduce_sum(sums.data(), count);
  double total = 0.0;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (groups[g].shards) groups[g].shards->all_reduce_sum(&sums[g], 1);
    if (groups[g].disjoint) groups[g].disjoint->all_reduce_sum(&sums[g], 1);
    total += sums[g];
  }
  return std::sqrt(total);
}

}  // namespace me
