// JsonFields: the checks behind every endpoint's request parsing.
#include "engine/serve/json_fields.h"

#include <fmt/format.h>

#include "engine/serve/request_error.h"

namespace me::serve {

nlohmann::json parse_body(const std::string& body) {
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    throw RequestError(fmt::format("malformed JSON: {}", e.what()), "body");
  }
  if (!parsed.is_object()) throw RequestError("the request body must be a JSON object", "body");
  return parsed;
}

JsonFields::JsonFields(const nlohmann::json& object, const std::set<std::string>& known)
    : object_(object) {
  for (const auto& [key, value] : object.items()) {
    if (!known.count(key)) throw RequestError("unknown field", key);
  }
}

bool JsonFields::has(const std::string& name) const {
  return object_.contains(name) && !object_.at(name).is_null();
}

std::optional<int64_t> JsonFields::integer(const std::string& name, int64_t min,
                                           int64_t max) const {
  if (!has(name)) return std::nullopt;
  const auto& v = object_.at(name);
  if (!v.is_number_integer()) throw RequestError("must be an integer", name);
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(max)) {
    throw RequestError(fmt::format("must be in [{}, {}]", min, max), name);
  }
  const int64_t x = v.get<int64_t>();
  if (x < min || x > max) throw RequestError(fmt::format("must be in [{}, {}]", min, max), name);
  return x;
}

std::optional<double> JsonFields::number(const std::string& name, double min, double max) const {
  if (!has(name)) return std::nullopt;
  const auto& v = object_.at(name);
  if (!v.is_number()) throw RequestError("must be a number", name);
  const double x = v.get<double>();
  if (!(x >= min && x <= max))
    throw RequestError(fmt::format("must be in [{}, {}]", min, max), name);
  return x;
}

std::optional<bool> JsonFields::boolean(const std::string& name) const {
  if (!has(name)) return std::nullopt;
  const auto& v = object_.at(name);
  if (!v.is_boolean()) throw RequestError("must be true or false", name);
  return v.get<bool>();
}

std::optional<std::string> JsonFields::string(const std::string& name) const {
  if (!has(name)) return std::nullopt;
  const auto& v = object_.at(name);
  if (!v.is_string()) throw RequestError("must be a string", name);
  return v.get<std::string>();
}

std::vector<std::string> JsonFields::strings(const std::string& name, size_t max_items) const {
  if (!has(name)) return {};
  const auto& v = object_.at(name);
  std::vector<std::string> out;
  if (v.is_string()) {
    out.push_back(v.get<std::string>());
  } else if (v.is_array()) {
    for (const auto& item : v) {
      if (!item.is_string()) throw RequestError("must be a string or a list of strings", name);
      out.push_back(item.get<std::string>());
    }
  } else {
    throw RequestError("must be a string or a list of strings", name);
  }
  if (out.size() > max_items) {
    throw RequestError(fmt::format("at most {} entries", max_items), name);
  }
  for (const auto& s : out) {
    if (s.empty()) throw RequestError("entries must not be empty", name);
  }
  return out;
}

}  // namespace me::serve
