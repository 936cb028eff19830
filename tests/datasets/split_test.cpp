// Split strings: parsing, padding, normalisation, document ranges and the errors for bad input.
#include "datasets/split.h"

#include <doctest/doctest.h>

#include "engine/core/error.h"

namespace me {
namespace {

TEST_CASE("split 969, 30, 1 on 1000 documents") {
  const auto shares = parse_split("969, 30, 1");
  CHECK(shares[0] == doctest::Approx(0.969));
  CHECK(shares[1] == doctest::Approx(0.030));
  CHECK(shares[2] == doctest::Approx(0.001));
  const auto ranges = split_document_ranges(shares, 1000);
  CHECK(ranges[0].begin == 0);
  CHECK(ranges[0].end == 969);
  CHECK(ranges[1].begin == 969);
  CHECK(ranges[1].end == 999);
  CHECK(ranges[2].begin == 999);
  CHECK(ranges[2].end == 1000);
  CHECK(split_document_range("969, 30, 1", Split::kValid, 1000).size() == 30);
}

TEST_CASE("split pads missing shares with zeros") {
  const auto shares = parse_split("1,1");
  CHECK(shares[0] == 0.5);
  CHECK(shares[1] == 0.5);
  CHECK(shares[2] == 0.0);
  const auto ranges = split_document_ranges(shares, 10);
  CHECK(ranges[0].end == 5);
  CHECK(ranges[1].begin == 5);
  CHECK(ranges[1].end == 10);
  CHECK(ranges[2].size() == 0);
  CHECK(parse_split("7")[0] == 1.0);
}

TEST_CASE("split rounds book-ends half to even like Python round") {
  // 1/3 and 2/3 of 3 documents are exact; of 9 documents 3 and 6; 0.5 of 5 is 2.5 -> 2.
  const auto halves = split_document_ranges(parse_split("1,1"), 5);
  CHECK(halves[0].end == 2);
  const auto fifths = split_document_ranges(parse_split("0.5, 0.3, 0.2"), 7);
  // book-ends 3.5 -> 4, 5.6 -> 6, 7.
  CHECK(fifths[0].end == 4);
  CHECK(fifths[1].end == 6);
  CHECK(fifths[2].end == 7);
}

TEST_CASE("bad split strings are errors naming data.split") {
  for (const char* bad : {"a,b", "-1, 2, 3", "0, 0, 0", "1,2,3,4", "", "1,,2", "1..2"}) {
    CAPTURE(bad);
    try {
      parse_split(bad);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.where() == "data.split");
    }
  }
}

}  // namespace
}  // namespace me
