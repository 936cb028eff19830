// Megatron's train/valid/test split string ("969, 30, 1") and the contiguous document range each
// split takes from a low-level dataset, before any shuffling.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "datasets/dataset.h"

namespace me {

// Non-negative numbers separated by commas, padded with zeros to three and normalised to sum 1.
// A malformed string (non-numbers, negatives, more than three, all zero) is a me::Error naming
// data.split.
std::array<double, 3> parse_split(const std::string& split);

struct DocumentRange {
  int64_t begin = 0;
  int64_t end = 0;  // exclusive
  int64_t size() const { return end - begin; }
};

// Split i takes documents [round(b_i * n), round(b_{i+1} * n)) with book-ends b the cumulative
// shares, rounded half to even as Python's round() does.
std::array<DocumentRange, 3> split_document_ranges(const std::array<double, 3>& shares,
                                                   int64_t num_documents);

DocumentRange split_document_range(const std::string& split, Split which, int64_t num_documents);

}  // namespace me
