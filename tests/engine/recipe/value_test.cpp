// Strict conversion of YAML values to recipe field types, and printing that round-trips.
#include "engine/recipe/value.h"

#include <doctest/doctest.h>

namespace me::test {
namespace {

Conversion convert(const std::string& yaml, FieldType base, bool optional = false) {
  return to_value(YAML::Load("v: " + yaml)["v"], ValueType{base, optional});
}

}  // namespace

TEST_CASE("ints: plain integers only") {
  CHECK(std::get<int64_t>(*convert("42", FieldType::kInt).value) == 42);
  CHECK(std::get<int64_t>(*convert("-7", FieldType::kInt).value) == -7);
  CHECK(convert("3.0", FieldType::kInt).error == "expected int, got float 3.0");
  CHECK(convert("1e3", FieldType::kInt).error == "expected int, got float 1e3");
  CHECK(convert("'3'", FieldType::kInt).error == "expected int, got string \"3\"");
  CHECK(convert("true", FieldType::kInt).error == "expected int, got bool true");
  CHECK(convert("99999999999999999999", FieldType::kInt).error ==
        "expected int, got an integer beyond 64 bits (99999999999999999999)");
  CHECK(convert("~", FieldType::kInt).error == "expected int, got null");
  CHECK(std::holds_alternative<std::monostate>(*convert("~", FieldType::kInt, true).value));
  CHECK(convert("[1]", FieldType::kInt, true).error == "expected int or null, got a list");
}

TEST_CASE("floats: numbers, never strings or non-finite values") {
  CHECK(std::get<double>(*convert("1e-4", FieldType::kFloat).value) == 1e-4);
  CHECK(std::get<double>(*convert("3", FieldType::kFloat).value) == 3.0);
  CHECK(std::get<double>(*convert("6.0e-5", FieldType::kFloat).value) == 6e-5);
  CHECK(convert(".inf", FieldType::kFloat).error == "expected float, got string \".inf\"");
  CHECK(convert("\"0.1\"", FieldType::kFloat).error == "expected float, got string \"0.1\"");
  CHECK(convert("{a: 1}", FieldType::kFloat).error == "expected float, got a mapping");
}

TEST_CASE("bools: YAML 1.2 true/false only") {
  CHECK(std::get<bool>(*convert("true", FieldType::kBool).value) == true);
  CHECK(std::get<bool>(*convert("False", FieldType::kBool).value) == false);
  CHECK(convert("yes", FieldType::kBool).error == "expected bool, got string \"yes\"");
  CHECK(convert("1", FieldType::kBool).error == "expected bool, got int 1");
}

TEST_CASE("strings and lists of strings") {
  CHECK(std::get<std::string>(*convert("969, 30, 1", FieldType::kString).value) == "969, 30, 1");
  CHECK(std::get<std::string>(*convert("'true'", FieldType::kString).value) == "true");
  CHECK(std::get<std::string>(*convert("2024", FieldType::kString).value) == "2024");
  CHECK(convert("false", FieldType::kString).error == "expected string, got bool false");
  CHECK(std::get<std::vector<std::string>>(*convert("[a.h5, 0.5]", FieldType::kStringList).value) ==
        std::vector<std::string>{"a.h5", "0.5"});
  CHECK(std::get<std::vector<std::string>>(*convert("[]", FieldType::kStringList).value).empty());
  CHECK(convert("[a, [b]]", FieldType::kStringList).error ==
        "expected list of strings, got a list holding a list");
  CHECK(convert("a.h5", FieldType::kStringList).error ==
        "expected list of strings, got string \"a.h5\"");
}

TEST_CASE("value_text prints floats shortest and always as floats") {
  CHECK(value_text(Value{0.1}) == "0.1");
  CHECK(value_text(Value{1e-8}) == "1e-08");
  CHECK(value_text(Value{4294967296.0}) == "4294967296.0");
  CHECK(value_text(Value{int64_t{3}}) == "3");
  CHECK(value_text(Value{std::monostate{}}) == "null");
  CHECK(value_text(Value{std::vector<std::string>{"a", "b"}}) == "[a, b]");
}

TEST_CASE("emit_value output converts back to the same value") {
  const std::vector<std::pair<Value, ValueType>> cases = {
      {Value{0.1 + 0.2}, {FieldType::kFloat, false}},
      {Value{6e-5}, {FieldType::kFloat, false}},
      {Value{int64_t{-5}}, {FieldType::kInt, false}},
      {Value{true}, {FieldType::kBool, false}},
      {Value{std::string("null")}, {FieldType::kString, true}},
      {Value{std::string("a: \"b\"\n")}, {FieldType::kString, false}},
      {Value{std::monostate{}}, {FieldType::kString, true}},
      {Value{std::vector<std::string>{"1", "x y", "true"}}, {FieldType::kStringList, false}},
  };
  for (const auto& [value, type] : cases) {
    CAPTURE(value_text(value));
    YAML::Emitter out;
    out << YAML::BeginMap << YAML::Key << "v" << YAML::Value;
    emit_value(out, value);
    out << YAML::EndMap;
    const Conversion back = to_value(YAML::Load(out.c_str())["v"], type);
    REQUIRE(back.value);
    CHECK(*back.value == value);
  }
}

}  // namespace me::test
