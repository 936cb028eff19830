// MicroBatchContext's saved-bytes counter: distinct storages counted once, released on take and on
// destruction, shared with scratch contexts, and the peak kept.
#include "engine/nn/context.h"

#include <doctest/doctest.h>

#include "engine/nn/dropout.h"

namespace me {
namespace {

struct TwoViews {
  Tensor whole;
  Tensor view;  // shares whole's storage
  Tensor other;
  int count = 0;  // not a tensor: ignored
};

}  // namespace

TEST_CASE("context counts each saved storage once and releases it on take") {
  Dropout a("a", 0.0), b("b", 0.0);
  MicroBatchContext ctx(true, 1, 0, 0);
  const Tensor x = Tensor::zeros({4, 8}, DType::kF32);  // 128 bytes
  const Tensor y = Tensor::zeros({3}, DType::kF64);     // 24 bytes
  ctx.save(&a, TwoViews{x, x.reshape({32}), y, 3});
  CHECK(ctx.saved_bytes() == 152);
  ctx.save(&b, x);  // a second module holding the same buffer adds nothing
  CHECK(ctx.saved_bytes() == 152);
  const TwoViews back = ctx.take<TwoViews>(&a);
  CHECK(back.count == 3);
  CHECK(ctx.saved_bytes() == 128);  // x is still held by b
  ctx.take<Tensor>(&b);
  CHECK(ctx.saved_bytes() == 0);
  CHECK(ctx.peak_saved_bytes() == 152);
  ctx.reset_peak();
  CHECK(ctx.peak_saved_bytes() == 0);
}

TEST_CASE("scratch contexts share the counter and a dropping one saves nothing") {
  Dropout a("a", 0.0);
  MicroBatchContext ctx(true, 1, 0, 0);
  const Tensor x = Tensor::zeros({16}, DType::kF32);  // 64 bytes
  {
    MicroBatchContext dropping = ctx.scratch(false);
    dropping.save(&a, x);
    CHECK(dropping.empty());
    CHECK(ctx.saved_bytes() == 0);
    MicroBatchContext keeping = ctx.scratch(true);
    keeping.save(&a, x);
    CHECK(ctx.saved_bytes() == 64);
  }  // destroyed untaken: released
  CHECK(ctx.saved_bytes() == 0);
  CHECK(ctx.peak_saved_bytes() == 64);
}

TEST_CASE("scratch contexts draw the same random streams as their parent") {
  MicroBatchContext ctx(true, 5, 3, 2);
  const MicroBatchContext scratch = ctx.scratch(true);
  CHECK(scratch.seed() == 5);
  CHECK(scratch.training());
  CHECK(scratch.rng_stream("decoder.layers.0.mlp_bda") ==
        ctx.rng_stream("decoder.layers.0.mlp_bda"));
  CHECK(MicroBatchContext(true, 5, 3, 1).rng_stream("x") != ctx.rng_stream("x"));
}

TEST_CASE("an inference context counts nothing") {
  Dropout a("a", 0.0);
  MicroBatchContext ctx(false, 1, 0, 0);
  ctx.save(&a, Tensor::zeros({16}, DType::kF32));
  CHECK(ctx.saved_bytes() == 0);
  CHECK(ctx.empty());
}

}  // namespace me
