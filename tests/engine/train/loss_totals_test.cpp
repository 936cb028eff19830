// LossTotals and loss_gradient: named losses summed in declaration order whatever order a
// micro-batch adds them, reduced over ranks as one buffer, valued sum / count, and each
// micro-batch's gradient Megatron's normalisation (per token or per sample, or as it is) times the
// weight and the loss scale; an undeclared loss is an internal error.
#include "engine/train/loss_totals.h"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "engine/core/error.h"
#include "tests/support/mirror_communicator.h"

namespace me {
namespace {

std::vector<LossSpec> two_losses() {
  return {{"lm loss", LossNormalization::kPerToken, 1.0},
          {"sop loss", LossNormalization::kPerSample, 0.5}};
}

TEST_CASE("loss totals keep the declared order and value each loss as sum over count") {
  LossTotals totals(two_losses());
  LossTerms first;
  first.add("sop loss", 1.5, 2);  // added before the lm loss: the order is the declaration's
  first.add("lm loss", 30.0, 10);
  first.add("lm loss", 6.0, 2);  // the same name again adds up
  totals.add(first);
  LossTerms second;
  second.add("lm loss", 12.0, 4);
  totals.add(second);
  CHECK(totals.sum(0) == 48.0);
  CHECK(totals.count(0) == 16.0);
  CHECK(totals.value(0) == 3.0);
  CHECK(totals.value(1) == 0.75);
  const std::vector<NamedValue> values = totals.values();
  REQUIRE(values.size() == 2);
  CHECK(values[0].name == "lm loss");
  CHECK(values[1].name == "sop loss");
  CHECK(values[1].value == 0.75);
  CHECK(totals.finite());
  LossTerms bad;
  bad.add("lm loss", std::nan(""), 1);
  totals.add(bad);
  CHECK_FALSE(totals.finite());
}

TEST_CASE("a loss the model did not declare is an internal error naming it") {
  LossTotals totals(two_losses());
  LossTerms terms;
  terms.add("z loss", 1.0, 1);
  CHECK_THROWS_WITH_AS(totals.add(terms), doctest::Contains("'z loss'"), InternalError);
}

TEST_CASE("loss totals reduce every sum and count over the ranks in one buffer") {
  std::vector<std::string> log;
  test::MirrorCommunicator peer(log, nullptr);  // a second rank holding the same sums
  LossTotals totals(two_losses());
  LossTerms terms;
  terms.add("lm loss", 5.0, 4);
  terms.add("sop loss", 1.0, 2);
  totals.add(terms);
  totals.all_reduce(peer);
  CHECK(totals.sum(0) == 10.0);
  CHECK(totals.count(0) == 8.0);
  CHECK(totals.sum(1) == 2.0);
  CHECK(totals.count(1) == 4.0);
}

TEST_CASE("a micro-batch's loss gradient is Megatron's normalisation times weight and scale") {
  const LossSpec lm{"lm loss", LossNormalization::kPerToken, 1.0};
  const LossSpec sop{"sop loss", LossNormalization::kPerSample, 0.5};
  const LossSpec aux{"load_balancing_loss", LossNormalization::kNone, 0.01};
  // 4 micro-batches: each one's token mean, averaged; loss scale 1024.
  CHECK(loss_gradient(lm, {"lm loss", 3.0, 8.0}, 1024.0, 4, false) == 1024.0 / 32.0);
  CHECK(loss_gradient(sop, {"sop loss", 1.0, 2.0}, 1.0, 4, false) == 0.5 / 8.0);
  // No normaliser: the sum is the loss; only the micro-batch average applies.
  CHECK(loss_gradient(aux, {"load_balancing_loss", 0.3, 6.0}, 2.0, 4, false) == 0.01 * 2.0 / 4.0);
  // A micro-batch without tokens counts as one.
  CHECK(loss_gradient(lm, {"lm loss", 0.0, 0.0}, 1.0, 2, false) == 0.5);
  // calculate_per_token_loss: the sum's gradient is the scale (the trainer divides by the step's
  // token count afterwards).
  CHECK(loss_gradient(lm, {"lm loss", 3.0, 8.0}, 8.0, 4, true) == 8.0);
}

}  // namespace
}  // namespace me
