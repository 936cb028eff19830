// Composition of module costs: a sequence keeps every part's saved tensors until the part's
// backward, so a lower part's backward runs with the parts above it already released.
#include "engine/nn/module_cost.h"

#include <algorithm>
#include <limits>

namespace me {

ModuleCost sequence_cost(std::span<const ModuleCost> parts, double held_gradient) {
  ModuleCost out;
  if (parts.empty()) return out;
  out.input = parts.front().input;
  double released = 0;  // saved bytes of the parts whose backward already ran
  double peak = -std::numeric_limits<double>::infinity();
  for (size_t i = parts.size(); i-- > 0;) {
    const bool last = i + 1 == parts.size();
    peak = std::max(peak, parts[i].backward - released + (last ? 0.0 : held_gradient));
    released += parts[i].saved;
  }
  out.saved = released;
  out.backward = peak;
  for (const ModuleCost& p : parts) {
    out.flops += p.flops;
    out.tensor_parallel_bytes += p.tensor_parallel_bytes;
  }
  return out;
}

double all_reduce_bytes(double bytes, double group) { return 2.0 * (group - 1.0) / group * bytes; }

double all_gather_bytes(double bytes, double group) { return (group - 1.0) / group * bytes; }

}  // namespace me
