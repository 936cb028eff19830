// Strict YAML-to-value conversion for recipe fields, and value printing that round-trips.
#include "engine/recipe/value.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace me {
namespace {

// A quoted scalar ('3', "true") is always a string; only plain scalars are numbers or bools.
bool is_plain(const YAML::Node& node) { return node.Tag() != "!"; }

std::optional<int64_t> parse_int(const std::string& s) {
  int64_t v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

std::optional<double> parse_float(const std::string& s) {
  double v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || ptr != end || !std::isfinite(v)) return std::nullopt;
  return v;
}

// YAML 1.2 core-schema booleans.
std::optional<bool> parse_bool(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

std::string base_name(FieldType type) {
  switch (type) {
    case FieldType::kInt:
      return "int";
    case FieldType::kFloat:
      return "float";
    case FieldType::kBool:
      return "bool";
    case FieldType::kString:
      return "string";
    case FieldType::kStringList:
      return "list of strings";
  }
  return "?";
}

// A string field takes any non-null scalar except a plain bool (`save: true` is a mistake).
std::optional<std::string> as_string(const YAML::Node& node) {
  if (!node.IsScalar()) return std::nullopt;
  if (is_plain(node) && parse_bool(node.Scalar())) return std::nullopt;
  return node.Scalar();
}

Conversion mismatch(const YAML::Node& node, ValueType type) {
  return {std::nullopt, fmt::format("expected {}, got {}", type_name(type), describe_node(node))};
}

}  // namespace

std::string type_name(ValueType type) {
  return base_name(type.base) + (type.optional ? " or null" : "");
}

std::string describe_node(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "null";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  const std::string& s = node.Scalar();
  if (is_plain(node)) {
    if (parse_bool(s)) return "bool " + s;
    if (parse_int(s)) return "int " + s;
    if (s.find_first_not_of("-0123456789") == std::string::npos && s.size() > 1) {
      return fmt::format("an integer beyond 64 bits ({})", s);
    }
    if (parse_float(s)) return "float " + s;
  }
  return fmt::format("string \"{}\"", s);
}

Conversion to_value(const YAML::Node& node, ValueType type) {
  if (!node.IsDefined() || node.IsNull()) {
    if (type.optional) return {Value{std::monostate{}}, ""};
    return mismatch(node, type);
  }
  switch (type.base) {
    case FieldType::kInt:
      if (node.IsScalar() && is_plain(node)) {
        if (auto v = parse_int(node.Scalar())) return {Value{*v}, ""};
      }
      return mismatch(node, type);
    case FieldType::kFloat:
      if (node.IsScalar() && is_plain(node)) {
        if (auto v = parse_float(node.Scalar())) return {Value{*v}, ""};
      }
      return mismatch(node, type);
    case FieldType::kBool:
      if (node.IsScalar() && is_plain(node)) {
        if (auto v = parse_bool(node.Scalar())) return {Value{*v}, ""};
      }
      return mismatch(node, type);
    case FieldType::kString:
      if (auto s = as_string(node)) return {Value{*s}, ""};
      return mismatch(node, type);
    case FieldType::kStringList: {
      if (!node.IsSequence()) return mismatch(node, type);
      std::vector<std::string> items;
      for (const auto& item : node) {
        auto s = as_string(item);
        if (!s) {
          return {std::nullopt, fmt::format("expected {}, got a list holding {}", type_name(type),
                                            describe_node(item))};
        }
        items.push_back(*s);
      }
      return {Value{std::move(items)}, ""};
    }
  }
  return mismatch(node, type);
}

std::string value_text(const Value& value) {
  struct Printer {
    std::string operator()(std::monostate) const { return "null"; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const {
      std::string s = fmt::format("{}", d);
      if (s.find_first_of(".e") == std::string::npos) s += ".0";
      return s;
    }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(const std::vector<std::string>& list) const {
      return fmt::format("[{}]", fmt::join(list, ", "));
    }
  };
  return std::visit(Printer{}, value);
}

void emit_value(YAML::Emitter& out, const Value& value) {
  if (std::holds_alternative<std::monostate>(value)) {
    out << YAML::Null;
  } else if (const auto* s = std::get_if<std::string>(&value)) {
    out << YAML::DoubleQuoted << *s;
  } else if (const auto* list = std::get_if<std::vector<std::string>>(&value)) {
    out << YAML::Flow << YAML::BeginSeq;
    for (const auto& item : *list) out << YAML::DoubleQuoted << item;
    out << YAML::EndSeq;
  } else {
    out << value_text(value);
  }
}

}  // namespace me
