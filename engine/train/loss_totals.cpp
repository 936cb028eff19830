// Named loss totals: a flat (sum, count) buffer in declaration order, so every rank reduces the
// same layout whatever subset of the losses its stages computed.
#include "engine/train/loss_totals.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"
#include "engine/parallel/communicator.h"

namespace me {

LossTotals::LossTotals(std::vector<LossSpec> specs)
    : specs_(std::move(specs)), sums_(2 * specs_.size(), 0.0) {
  ME_CHECK(!specs_.empty(), "a model that declares no loss");
}

size_t LossTotals::index_of(const std::string& name) const {
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].name == name) return i;
  }
  throw InternalError(fmt::format("loss '{}' was added but the model does not declare it", name));
}

void LossTotals::add(const LossTerms& terms) {
  for (const LossTerm& t : terms.terms()) {
    const size_t i = index_of(t.name);
    sums_[2 * i] += t.sum;
    sums_[2 * i + 1] += t.count;
  }
}

void LossTotals::add(const LossTotals& other) {
  ME_CHECK(other.sums_.size() == sums_.size(), "loss totals of different models");
  for (size_t i = 0; i < sums_.size(); ++i) sums_[i] += other.sums_[i];
}

void LossTotals::all_reduce(Communicator& comm) {
  comm.all_reduce_sum(sums_.data(), static_cast<int64_t>(sums_.size()));
}

double LossTotals::value(size_t i) const { return sum(i) / std::max(count(i), 1.0); }

std::vector<NamedValue> LossTotals::values() const {
  std::vector<NamedValue> out;
  for (size_t i = 0; i < specs_.size(); ++i) out.push_back({specs_[i].name, value(i)});
  return out;
}

bool LossTotals::finite() const {
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (!std::isfinite(sum(i))) return false;
  }
  return true;
}

double loss_gradient(const LossSpec& spec, const LossTerm& term, double loss_scale,
                     int64_t num_microbatches, bool calculate_per_token_loss) {
  if (calculate_per_token_loss) return loss_scale * spec.weight;
  const double microbatches = static_cast<double>(num_microbatches);
  const double normaliser = spec.normalization == LossNormalization::kNone
                                ? microbatches
                                : std::max(term.count, 1.0) * microbatches;
  return loss_scale * spec.weight * (1.0 / normaliser);
}

}  // namespace me
