// OptimizerParamScheduler against values worked out by hand from megatron-facts 2.2 and 2.3.
// Common setup: global batch 4, train_iters 100 -> decay horizon D = 400 samples; warmup 10
// iterations -> W = 40 samples; lr 1.0, min_lr 0.1, lr_warmup_init 0.
#include <doctest/doctest.h>

#include "engine/optim/lr_schedule.h"
#include "engine/recipe/recipe.h"

using namespace me;

namespace {

Recipe schedule_recipe(const std::string& style) {
  Recipe r{};
  r.derived.global_batch_size = 4;
  r.train.train_iters = 100;
  r.optimizer.lr = 1.0;
  r.optimizer.min_lr = 0.1;
  r.optimizer.weight_decay = 0.01;
  r.optimizer.weight_decay_incr_style = "constant";
  r.scheduler.lr_decay_style = style;
  r.scheduler.lr_warmup_iters = 10;
  r.scheduler.lr_warmup_init = 0.0;
  r.scheduler.lr_wsd_decay_style = "exponential";
  return r;
}

double lr_at(OptimizerParamScheduler& s, int64_t n) {
  s.set_num_steps(n);
  return s.lr();
}

}  // namespace

TEST_CASE("linear: warmup from lr_warmup_init, then a straight line to min_lr") {
  OptimizerParamScheduler s(schedule_recipe("linear"));
  CHECK(s.lr_steps().warmup_steps == 40);
  CHECK(s.lr_steps().decay_steps == 400);
  CHECK(lr_at(s, 0) == doctest::Approx(0.0));     // first iteration: init
  CHECK(lr_at(s, 20) == doctest::Approx(0.5));    // 0 + 1.0 * 20/40
  CHECK(lr_at(s, 40) == doctest::Approx(1.0));    // end of warmup: max
  CHECK(lr_at(s, 220) == doctest::Approx(0.55));  // r = 180/360 = 0.5: 0.1 + 0.5 * 0.9
  CHECK(lr_at(s, 400) == doctest::Approx(0.1));   // r = 1
  CHECK(lr_at(s, 404) == doctest::Approx(0.1));   // past decay: min
}

TEST_CASE("scheduler steps count samples") {
  OptimizerParamScheduler s(schedule_recipe("linear"));
  CHECK(s.num_steps() == 0);
  s.step(4);
  s.step(4);
  CHECK(s.num_steps() == 8);
  CHECK(s.lr() == doctest::Approx(0.2));  // warmup 8/40 of 1.0
}

TEST_CASE("lr_warmup_init is the first LR and the warmup ramp starts from it") {
  Recipe r = schedule_recipe("linear");
  r.scheduler.lr_warmup_init = 0.01;
  OptimizerParamScheduler s(r);
  CHECK(lr_at(s, 0) == doctest::Approx(0.01));
  CHECK(lr_at(s, 20) == doctest::Approx(0.505));  // 0.01 + 0.99 * 0.5
}

TEST_CASE("cosine: half a cosine from max to min") {
  OptimizerParamScheduler s(schedule_recipe("cosine"));
  CHECK(lr_at(s, 20) == doctest::Approx(0.5));
  CHECK(lr_at(s, 130) ==
        doctest::Approx(0.868198052));            // r = 0.25: c = 0.5 (cos(pi/4) + 1) = 0.853553391
  CHECK(lr_at(s, 220) == doctest::Approx(0.55));  // r = 0.5: min + 0.5 (max - min)
  CHECK(lr_at(s, 400) == doctest::Approx(0.1));   // r = 1: cos(pi) = -1
  CHECK(lr_at(s, 1000) == doctest::Approx(0.1));
}

TEST_CASE("constant: max after warmup, even past the decay horizon") {
  OptimizerParamScheduler s(schedule_recipe("constant"));
  CHECK(lr_at(s, 0) == doctest::Approx(0.0));
  CHECK(lr_at(s, 10) == doctest::Approx(0.25));
  CHECK(lr_at(s, 100) == 1.0);
  CHECK(lr_at(s, 1000) == 1.0);
}

TEST_CASE("inverse-square-root: max * sqrt(W) / sqrt(n), floored at min") {
  Recipe r = schedule_recipe("inverse-square-root");
  OptimizerParamScheduler s(r);
  CHECK(lr_at(s, 160) == doctest::Approx(0.5));        // sqrt(40 / 160)
  CHECK(lr_at(s, 360) == doctest::Approx(1.0 / 3.0));  // sqrt(40 / 360)
  CHECK(lr_at(s, 404) == doctest::Approx(0.1));        // past decay: min
  r.optimizer.min_lr = 0.4;
  OptimizerParamScheduler floored(r);
  CHECK(lr_at(floored, 360) == doctest::Approx(0.4));  // max(0.4, 1/3)
  r.optimizer.min_lr = 0.0;
  r.scheduler.lr_warmup_iters = 0;
  OptimizerParamScheduler no_warmup(r);
  CHECK(lr_at(no_warmup, 0) == doctest::Approx(1.0));  // sqrt(max(W,1)=1) / sqrt(max(n,1)=1)
  CHECK(lr_at(no_warmup, 4) == doctest::Approx(0.5));  // 1 / sqrt(4)
}

TEST_CASE("WSD: stable at max, then anneal over the last lr_wsd_decay_iters in each style") {
  // lr_wsd_decay_iters 20 -> 80 samples; the anneal starts at A = 400 - 80 = 320.
  struct Expect {
    const char* style;
    double at_340;  // q = 20/80 = 0.25
    double at_360;  // q = 40/80 = 0.5
  };
  const Expect cases[] = {
      // c = 2 * 0.5^q - 1: q=.25 -> 0.681792831, q=.5 -> 0.414213562
      {"exponential", 0.1 + 0.9 * 0.681792831, 0.1 + 0.9 * 0.414213562},
      {"linear", 0.775, 0.55},                              // c = 1 - q
      {"cosine", 0.1 + 0.9 * 0.853553391, 0.55},            // c = 0.5 (cos(pi q) + 1)
      {"minus_sqrt", 0.55, 0.1 + 0.9 * (1 - 0.707106781)},  // c = 1 - sqrt(q)
  };
  for (const Expect& e : cases) {
    CAPTURE(e.style);
    Recipe r = schedule_recipe("WSD");
    r.scheduler.lr_wsd_decay_iters = 20;
    r.scheduler.lr_wsd_decay_style = e.style;
    OptimizerParamScheduler s(r);
    CHECK(lr_at(s, 20) == doctest::Approx(0.5));   // warmup as usual
    CHECK(lr_at(s, 300) == doctest::Approx(1.0));  // stable
    CHECK(lr_at(s, 320) == doctest::Approx(1.0));  // n <= A
    CHECK(lr_at(s, 340) == doctest::Approx(e.at_340));
    CHECK(lr_at(s, 360) == doctest::Approx(e.at_360));
    CHECK(lr_at(s, 400) == doctest::Approx(0.1));  // q = 1: c = 0 in every style
    CHECK(lr_at(s, 480) == doctest::Approx(0.1));
  }
}

TEST_CASE("lr_warmup_fraction and lr_decay_iters set the horizons") {
  Recipe r = schedule_recipe("linear");
  r.scheduler.lr_warmup_iters = 0;
  r.scheduler.lr_warmup_fraction = 0.0125;  // W = 0.0125 * 400 = 5 samples
  OptimizerParamScheduler s(r);
  CHECK(s.lr_steps().warmup_steps == doctest::Approx(5.0));
  CHECK(lr_at(s, 4) == doctest::Approx(0.8));                            // 4/5
  CHECK(lr_at(s, 8) == doctest::Approx(0.1 + 0.9 * (1 - 3.0 / 395.0)));  // r = (8-5)/(400-5)

  Recipe d = schedule_recipe("linear");
  d.scheduler.lr_decay_iters = 50;  // D = 200
  OptimizerParamScheduler short_decay(d);
  CHECK(lr_at(short_decay, 120) == doctest::Approx(0.55));  // r = 80/160
  CHECK(lr_at(short_decay, 204) == doctest::Approx(0.1));
}

TEST_CASE("weight decay schedules rise from start to end over train_iters * GBS samples") {
  Recipe r = schedule_recipe("linear");
  r.optimizer.start_weight_decay = 0.01;
  r.optimizer.end_weight_decay = 0.1;
  r.optimizer.weight_decay_incr_style = "linear";
  OptimizerParamScheduler linear(r);
  CHECK(linear.wd_incr_steps() == 400);
  linear.set_num_steps(0);
  CHECK(linear.weight_decay() == doctest::Approx(0.01));
  linear.set_num_steps(100);
  CHECK(linear.weight_decay() == doctest::Approx(0.0325));  // 0.01 + 0.25 * 0.09
  linear.set_num_steps(404);
  CHECK(linear.weight_decay() == doctest::Approx(0.1));

  r.optimizer.weight_decay_incr_style = "cosine";
  OptimizerParamScheduler cosine(r);
  cosine.set_num_steps(0);
  CHECK(cosine.weight_decay() == doctest::Approx(0.01));  // c = 0.5 (cos(pi) + 1) = 0
  cosine.set_num_steps(100);
  CHECK(cosine.weight_decay() ==
        doctest::Approx(0.01 + 0.09 * 0.146446609));  // 0.5 (cos(0.75 pi) + 1)
  cosine.set_num_steps(200);
  CHECK(cosine.weight_decay() == doctest::Approx(0.055));  // c = 0.5
  cosine.set_num_steps(400);
  CHECK(cosine.weight_decay() == doctest::Approx(0.1));

  Recipe c = schedule_recipe("linear");
  OptimizerParamScheduler constant(c);
  constant.set_num_steps(123);
  CHECK(constant.weight_decay() == doctest::Approx(0.01));
}

TEST_CASE("schedule settings Megatron rejects are errors naming the field") {
  Recipe warm = schedule_recipe("linear");
  warm.scheduler.lr_warmup_iters = 100;  // W = D
  CHECK_THROWS_WITH_AS(OptimizerParamScheduler{warm},
                       doctest::Contains("scheduler.lr_warmup_iters"), Error);
  Recipe min = schedule_recipe("linear");
  min.optimizer.min_lr = 2.0;
  CHECK_THROWS_WITH_AS(OptimizerParamScheduler{min}, doctest::Contains("optimizer.min_lr"), Error);
  Recipe init = schedule_recipe("linear");
  init.scheduler.lr_warmup_init = 1.5;
  CHECK_THROWS_WITH_AS(OptimizerParamScheduler{init}, doctest::Contains("scheduler.lr_warmup_init"),
                       Error);
  Recipe typo = schedule_recipe("cosin");
  CHECK_THROWS_WITH_AS(OptimizerParamScheduler{typo}, doctest::Contains("did you mean 'cosine'"),
                       Error);
  Recipe wsd = schedule_recipe("WSD");
  CHECK_THROWS_WITH_AS(OptimizerParamScheduler{wsd}, doctest::Contains("lr_wsd_decay_iters"),
                       Error);
  wsd.scheduler.lr_wsd_decay_iters = 10;
  wsd.scheduler.lr_wsd_decay_style = "step";
  CHECK_THROWS_WITH_AS(OptimizerParamScheduler{wsd}, doctest::Contains("lr_wsd_decay_style"),
                       Error);
  Recipe wd = schedule_recipe("linear");
  wd.optimizer.weight_decay_incr_style = "linear";
  CHECK_THROWS_WITH_AS(OptimizerParamScheduler{wd}, doctest::Contains("start_weight_decay"), Error);
  Recipe wd_const = schedule_recipe("linear");
  wd_const.optimizer.start_weight_decay = 0.02;
  CHECK_THROWS_WITH_AS(OptimizerParamScheduler{wd_const},
                       doctest::Contains("optimizer.start_weight_decay"), Error);
  Recipe no_iters = schedule_recipe("linear");
  no_iters.train.train_iters.reset();
  CHECK_THROWS_WITH_AS(OptimizerParamScheduler{no_iters}, doctest::Contains("train.train_iters"),
                       Error);
}
