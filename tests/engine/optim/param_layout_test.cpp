// ParamLayout::plan: backward order, 64-element starts, bucket cuts and lcm(dp, 128) bucket ends.
#include <doctest/doctest.h>

#include "engine/optim/param_layout.h"

using namespace me;

namespace {

// Forward order a (100), b (10), c (300): backward order is c, b, a.
struct ThreeParams {
  Parameter a{"a", {10, 10}};
  Parameter b{"b", {10}};
  Parameter c{"c", {3, 100}};
  std::vector<Parameter*> forward() { return {&a, &b, &c}; }
};

}  // namespace

TEST_CASE("one bucket: backward order, starts aligned to 64, end padded to 128") {
  ThreeParams p;
  const ParamLayout layout = ParamLayout::plan(p.forward(), {});
  REQUIRE(layout.slots.size() == 3);
  // c [0, 300); b starts at pad64(300) = 320, ends 330; a starts at pad64(330) = 384, ends 484.
  CHECK(layout.slots[0].param == &p.c);
  CHECK(layout.slots[0].offset == 0);
  CHECK(layout.slots[1].param == &p.b);
  CHECK(layout.slots[1].offset == 320);
  CHECK(layout.slots[2].param == &p.a);
  CHECK(layout.slots[2].offset == 384);
  for (const ParamSlot& slot : layout.slots) {
    CHECK(slot.offset % 64 == 0);
    CHECK(slot.bucket == 0);
  }
  // The bucket end 484 is padded to lcm(1, 128) = 128: 512.
  REQUIRE(layout.buckets.size() == 1);
  CHECK(layout.buckets[0] == std::pair<int64_t, int64_t>{0, 512});
  CHECK(layout.total_elems == 512);
}

TEST_CASE("buckets are cut once they reach bucket_elems and padded to lcm(dp, 128)") {
  ThreeParams p;
  ParamLayoutOptions options;
  options.bucket_elems = 300;
  options.data_parallel_size = 3;  // lcm(3, 128) = 384
  const ParamLayout layout = ParamLayout::plan(p.forward(), options);
  // c [0, 300) reaches 300: bucket 0 closes at pad384(300) = 384.
  // b [384, 394), a starts at pad64(394) = 448, ends 548 (164 < 300); last bucket ends pad384(548)
  // = 768.
  REQUIRE(layout.buckets.size() == 2);
  CHECK(layout.buckets[0] == std::pair<int64_t, int64_t>{0, 384});
  CHECK(layout.buckets[1] == std::pair<int64_t, int64_t>{384, 768});
  CHECK(layout.slots[1].offset == 384);
  CHECK(layout.slots[2].offset == 448);
  CHECK(layout.slots[0].bucket == 0);
  CHECK(layout.slots[1].bucket == 1);
  CHECK(layout.slots[2].bucket == 1);
  CHECK(layout.total_elems == 768);
  for (const auto& [begin, end] : layout.buckets) {
    CHECK((end - begin) % 3 == 0);
    CHECK(end % 384 == 0);
  }
}

TEST_CASE("a bucket closes at the parameter that crosses the size, never splitting it") {
  ThreeParams p;
  ParamLayoutOptions options;
  options.bucket_elems = 100;
  const ParamLayout layout = ParamLayout::plan(p.forward(), options);
  // c [0, 300) >= 100: bucket [0, 384). b [384, 394): 10 < 100. a [448, 548): 548 - 384 = 164
  // >= 100: bucket [384, pad128(548) = 640).
  REQUIRE(layout.buckets.size() == 2);
  CHECK(layout.buckets[0] == std::pair<int64_t, int64_t>{0, 384});
  CHECK(layout.buckets[1] == std::pair<int64_t, int64_t>{384, 640});
  CHECK(layout.total_elems == 640);
  CHECK(bucket_end_divisor(8) == 128);
  CHECK(bucket_end_divisor(3) == 384);
  CHECK(bucket_end_divisor(256) == 256);
}

TEST_CASE("bucket_elems 0 keeps everything in one bucket and bad options are errors") {
  ThreeParams p;
  ParamLayoutOptions options;
  options.bucket_elems = 0;
  CHECK(ParamLayout::plan(p.forward(), options).buckets.size() == 1);
  options.data_parallel_size = 0;
  CHECK_THROWS_WITH_AS(ParamLayout::plan(p.forward(), options),
                       doctest::Contains("param_layout.data_parallel_size"), Error);
  options = {};
  options.align = 0;
  CHECK_THROWS_AS(ParamLayout::plan(p.forward(), options), Error);
}
