// Split strings: parsed strictly (Megatron's regex would read "-1" as "1"), shares as Megatron's
// convert_split_vector_to_split_matrix computes them.
#include "datasets/split.h"

#include <fmt/format.h>

#include <cmath>
#include <regex>
#include <vector>

#include "engine/core/error.h"

namespace me {
namespace {

constexpr const char* kWhere = "data.split";

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

double parse_share(const std::string& item, const std::string& split) {
  static const std::regex number(R"([0-9]*\.?[0-9]+|[0-9]+\.)");
  if (!item.empty() && item[0] == '-') {
    throw Error(fmt::format("'{}' has a negative share '{}'", split, item), kWhere);
  }
  if (!std::regex_match(item, number)) {
    throw Error(fmt::format("'{}' is not a list of numbers like \"969, 30, 1\" ('{}' is not a "
                            "number)",
                            split, item),
                kWhere);
  }
  return std::stod(item);
}

}  // namespace

std::array<double, 3> parse_split(const std::string& split) {
  std::vector<double> shares;
  size_t start = 0;
  while (true) {
    const size_t comma = split.find(',', start);
    shares.push_back(parse_share(trim(split.substr(start, comma - start)), split));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (shares.size() > 3) {
    throw Error(
        fmt::format("'{}' has {} shares; at most 3 (train, valid, test)", split, shares.size()),
        kWhere);
  }
  shares.resize(3, 0.0);
  const double total = shares[0] + shares[1] + shares[2];
  if (!(total > 0.0)) throw Error(fmt::format("'{}' has all shares zero", split), kWhere);
  return {shares[0] / total, shares[1] / total, shares[2] / total};
}

std::array<DocumentRange, 3> split_document_ranges(const std::array<double, 3>& shares,
                                                   int64_t num_documents) {
  std::array<DocumentRange, 3> out;
  double begin = 0.0;
  const double n = static_cast<double>(num_documents);
  for (size_t i = 0; i < 3; ++i) {
    const double end = begin + shares[i];
    // nearbyint rounds half to even under the default rounding mode, as Python's round().
    out[i] = {static_cast<int64_t>(std::nearbyint(begin * n)),
              static_cast<int64_t>(std::nearbyint(end * n))};
    begin = end;
  }
  return out;
}

DocumentRange split_document_range(const std::string& split, Split which, int64_t num_documents) {
  return split_document_ranges(parse_split(split), num_documents)[static_cast<size_t>(which)];
}

}  // namespace me
