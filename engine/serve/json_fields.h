// Typed, range-checked reads of a JSON request body: an unknown field, a wrong type or a value out
// of range is a RequestError naming the field, never a silent default.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace me::serve {

// Parses a request body: malformed JSON or a non-object is a RequestError on field "body".
nlohmann::json parse_body(const std::string& body);

class JsonFields {
 public:
  // Rejects any key of `object` outside `known`.
  JsonFields(const nlohmann::json& object, const std::set<std::string>& known);

  bool has(const std::string& name) const;
  // Present and not null; each throws RequestError(name) on a wrong type or a value out of range.
  std::optional<int64_t> integer(const std::string& name, int64_t min, int64_t max) const;
  std::optional<double> number(const std::string& name, double min, double max) const;
  std::optional<bool> boolean(const std::string& name) const;
  std::optional<std::string> string(const std::string& name) const;
  // A string or a list of strings (at most max_items), each non-empty.
  std::vector<std::string> strings(const std::string& name, size_t max_items) const;
  const nlohmann::json& raw(const std::string& name) const { return object_.at(name); }

 private:
  const nlohmann::json& object_;
};

}  // namespace me::serve
