// The ingest progress line: hand-computed fraction, MB, MB/s and ETA.
#include "datasets/ingest_progress.h"

#include <doctest/doctest.h>

namespace me {
namespace {

TEST_CASE("progress line by hand") {
  // 35 of 100 MB in 5 s: 7 MB/s, 65 MB left -> 9.29 s -> ETA 0:09; 35% fills 7 of 20 cells.
  CHECK(format_progress(35'000'000, 100'000'000, 5.0, 1234) ==
        "[#######.............]  35.0%  35.00/100.00 MB  7.00 MB/s  ETA 0:09  1234 docs");
  // Nothing done yet: no speed, no ETA.
  CHECK(format_progress(0, 2'000'000, 0.0, 0) ==
        "[....................]   0.0%  0.00/2.00 MB  0.00 MB/s  ETA ?  0 docs");
  // 1 MB/s with 4000 MB left: 4000 s = 1:06:40.
  CHECK(format_progress(1'000'000, 4'001'000'000, 1.0, 1) ==
        "[....................]   0.0%  1.00/4001.00 MB  1.00 MB/s  ETA 1:06:40  1 docs");
  CHECK(format_progress(10, 10, 2.0, 3).starts_with("[####################] 100.0%"));
}

}  // namespace
}  // namespace me
