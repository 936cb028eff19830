// A recipe field's value and type: YAML scalars and lists checked against a field's type (never
// coerced silently: "3.5" is not an int, a quoted "3" is a string), and printed back for YAML/docs.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace me {

// monostate is YAML null (an unset optional field).
using Value =
    std::variant<std::monostate, bool, int64_t, double, std::string, std::vector<std::string>>;

enum class FieldType { kInt, kFloat, kBool, kString, kStringList };

struct ValueType {
  FieldType base;
  bool optional;  // null allowed
};

// "int", "float or null", "list of strings"...
std::string type_name(ValueType type);

// The value `node` holds as `type`, or the reason it does not fit ("expected int, got float 3.5").
struct Conversion {
  std::optional<Value> value;
  std::string error;
};
Conversion to_value(const YAML::Node& node, ValueType type);

// What a YAML node looks like to a reader: "string \"abc\"", "float 3.5", "a list", "null".
std::string describe_node(const YAML::Node& node);

// The value as plain text: 0.001, true, linear, [a.h5, b.h5], null. Floats print the shortest
// text that parses back to the same double.
std::string value_text(const Value& value);

// Emits the value so that to_value reads back an equal one (strings double-quoted).
void emit_value(YAML::Emitter& out, const Value& value);

}  // namespace me
