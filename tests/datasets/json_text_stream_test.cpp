// JsonTextStream against nlohmann::json (through parse_json_line): on valid and broken lines, fed
// in parts of every size, it accepts exactly the lines nlohmann accepts and decodes the same text.
#include "datasets/json_text_stream.h"

#include <doctest/doctest.h>

#include <random>

#include "datasets/ingest_input.h"

namespace {

struct Streamed {
  bool ok = false;
  std::string text, error;
};

Streamed stream(const std::string& line, size_t part, const std::string& key = "text") {
  me::JsonTextStream json(key);
  Streamed out;
  bool fed = true;
  for (size_t at = 0; at < line.size() && fed; at += part) {
    fed = json.feed(std::string_view(line).substr(at, part), out.text);
  }
  out.ok = fed && json.finish();
  out.error = json.error();
  return out;
}

const std::vector<std::string> kValid = {
    R"({"text": "hello"})",
    R"(  {"id": 12, "text": "caf\u00e9 \ud83d\ude00 \"q\" \\ \/ \b\f\n\r\t", "x": [1, -2.5e+3, 0, 0.1E-2, true, false, null, {"text": "inner"}, []]}  )",
    R"({"meta": {"text": "not this", "deep": [[{"a": "b"}]]}, "text": "this"})",
    R"({"text":"日本語 naïve 👍🏽\u0000end","n":-0})",
    R"({"a":{},"b":[],"text":""})",
    "{\"text\": \"tab\\tand raw é\"}\t",
};

const std::vector<std::string> kBad = {
    R"({"text": "unterminated})",
    R"({"text": "x",})",
    R"({"text": "x"} trailing)",
    R"({"text": 'single'})",
    R"({"text": "x" "y"})",
    R"({"text": "\ud800 lone"})",
    R"({"text": "\udc00 low first"})",
    R"({"text": "\x"})",
    R"({"text": "x", "n": 01})",
    R"({"text": "x", "n": 1.})",
    R"({"text": "x", "n": -})",
    R"({"text": "x", "b": tru})",
    R"({"text": "x", "a": [1, 2})",
    R"([{"text": "x"}])",
    R"("text")",
    R"({"text": 5})",
    R"({"text": {"a": 1}})",
    R"({"other": "x"})",
    "{\"text\": \"ctrl \x01 char\"}",
    "{\"text\": \"bad \xC3\x28 utf8\"}",
    "{\"text\": \"overlong \xC0\xAF\"}",
    "{\"text\": \"cut \xE6\x97",
};

}  // namespace

TEST_CASE("JsonTextStream decodes what nlohmann decodes, fed in parts of any size") {
  for (const auto& line : kValid) {
    CAPTURE(line);
    const me::ParsedLine parsed = me::parse_json_line(line, "text");
    REQUIRE(parsed.error.empty());
    for (size_t part : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, line.size()}) {
      CAPTURE(part);
      const Streamed s = stream(line, part);
      CHECK(s.ok);
      CHECK(s.text == parsed.text);
    }
  }
}

TEST_CASE("JsonTextStream rejects what nlohmann rejects, with the same key and type messages") {
  for (const auto& line : kBad) {
    CAPTURE(line);
    const me::ParsedLine parsed = me::parse_json_line(line, "text");
    REQUIRE(!parsed.error.empty());
    for (size_t part : {size_t{1}, size_t{5}, line.size()}) {
      const Streamed s = stream(line, part);
      CHECK(!s.ok);
      CHECK(!s.error.empty());
    }
  }
  CHECK(stream(R"({"text": 5})", 3).error == me::parse_json_line(R"({"text": 5})", "text").error);
  CHECK(stream(R"({"other": "x"})", 3).error ==
        me::parse_json_line(R"({"other": "x"})", "text").error);
  CHECK(stream(R"([1])", 1).error == me::parse_json_line("[1]", "text").error);
  CHECK(stream(R"({"text": "a", "text": "b"})", 4).error.find("twice") != std::string::npos);
}

TEST_CASE("JsonTextStream agrees with nlohmann on randomly damaged lines") {
  std::mt19937 rng(11);
  const std::string alphabet = "{}[]\",:\\u0123456789abcdefnrtlsE+-. \t\xC3\xA9\xFF";
  int accepted = 0, rejected = 0;
  for (int trial = 0; trial < 6000; ++trial) {
    std::string line = kValid[size_t(trial) % kValid.size()];
    const int edits = 1 + trial % 3;
    for (int e = 0; e < edits; ++e) {
      const size_t at = std::uniform_int_distribution<size_t>(0, line.size() - 1)(rng);
      const char c = alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)];
      switch (std::uniform_int_distribution<int>(0, 2)(rng)) {
        case 0:
          line[at] = c;
          break;
        case 1:
          line.insert(line.begin() + long(at), c);
          break;
        default:
          line.erase(at, 1);
          break;
      }
    }
    const me::ParsedLine parsed = me::parse_json_line(line, "text");
    const Streamed s = stream(line, 1 + size_t(trial) % 9);
    if (s.error.find("twice") != std::string::npos) continue;  // nlohmann keeps the last one
    CAPTURE(line);
    CHECK(s.ok == parsed.error.empty());
    if (s.ok && parsed.error.empty()) CHECK(s.text == parsed.text);
    (s.ok ? accepted : rejected) += 1;
  }
  CHECK(accepted > 300);
  CHECK(rejected > 3000);
}
