// A model's named losses as the trainer handles them (engine/nn/losses.h): one sum and count per
// declared loss over a step's micro-batches, summed over ranks, their values for logging, and the
// gradient each micro-batch's backward starts from.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/nn/losses.h"

namespace me {

class Communicator;

// A logged value by name ("lm loss": 2.31).
struct NamedValue {
  std::string name;
  double value = 0.0;
};

class LossTotals {
 public:
  explicit LossTotals(std::vector<LossSpec> specs);

  const std::vector<LossSpec>& specs() const { return specs_; }
  // Adds a micro-batch's losses; one the model did not declare is an internal error.
  void add(const LossTerms& terms);
  void add(const LossTotals& other);
  // Sums every loss's sum and count over `comm` (pipeline stages, data-parallel ranks).
  void all_reduce(Communicator& comm);

  double sum(size_t i) const { return sums_[2 * i]; }
  double count(size_t i) const { return sums_[2 * i + 1]; }
  // sum / count (count at least 1): the token mean of a per-token loss over the step.
  double value(size_t i) const;
  std::vector<NamedValue> values() const;
  // Whether every loss's sum is finite.
  bool finite() const;

 private:
  size_t index_of(const std::string& name) const;

  std::vector<LossSpec> specs_;
  std::vector<double> sums_;  // sum, count per loss: one buffer for one all-reduce
};

// d(objective) / d(sum) for a micro-batch's loss `term` of kind `spec`: Megatron's default
// normalisation, each micro-batch's mean (per token or per sample; a loss without a normaliser as
// it is) averaged over the step's micro-batches, times the weight and the loss scale. With
// calculate_per_token_loss the sums' gradient is the loss scale alone and the trainer divides the
// gradients by the step's token count afterwards.
double loss_gradient(const LossSpec& spec, const LossTerm& term, double loss_scale,
                     int64_t num_microbatches, bool calculate_per_token_loss);

}  // namespace me
