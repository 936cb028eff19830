// Named losses: what a model (its head) or a layer (an MoE router's balancing loss) adds to a
// micro-batch's objective, each with its own normaliser and weight. Modules add sums to their
// micro-batch context; the trainer reduces them over ranks, logs each by name and seeds each one's
// backward (engine/train/loss_totals.h).
#pragma once

#include <string>
#include <vector>

namespace me {

enum class LossNormalization {
  kPerToken,   // sum / count with count the micro-batch's unmasked tokens (Megatron's lm loss)
  kPerSample,  // sum / count with count the micro-batch's samples (BERT's sentence-order loss)
  kNone,       // the sum is the loss itself; count only says how often it was added (logging)
};

// A loss a model declares: its logged name ("lm loss"), normaliser and weight in the objective.
struct LossSpec {
  std::string name;
  LossNormalization normalization = LossNormalization::kPerToken;
  double weight = 1.0;
};

// The sums one micro-batch (or a whole step) added, by name, in the order first added.
struct LossTerm {
  std::string name;
  double sum = 0.0;
  double count = 0.0;
};

class LossTerms {
 public:
  void add(const std::string& name, double sum, double count) {
    for (LossTerm& t : terms_) {
      if (t.name == name) {
        t.sum += sum;
        t.count += count;
        return;
      }
    }
    terms_.push_back({name, sum, count});
  }
  const std::vector<LossTerm>& terms() const { return terms_; }
  bool empty() const { return terms_.empty(); }

 private:
  std::vector<LossTerm> terms_;
};

}  // namespace me
