// The string under one top-level key of a JSON line too long to hold: the line is given in parts,
// checked as it goes (JSON grammar, UTF-8), and the value comes out decoded, in order, as it is
// read, so ingest needs memory for a piece of it rather than for the line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace me {

class JsonTextStream {
 public:
  explicit JsonTextStream(std::string key) : key_(std::move(key)) {}

  // Consumes the next part of the line, appending decoded bytes of the key's string value to
  // `text`. False once the line is bad (error() says why); later parts are then ignored.
  bool feed(std::string_view part, std::string& text);
  // The line ended: false if it is incomplete, or lacks the key, or its value is no string.
  bool finish();
  // Nothing but whitespace so far (a blank line is skipped, not an error).
  bool blank() const { return state_ == State::kValue && stack_.empty() && !started_; }
  const std::string& error() const { return error_; }

 private:
  enum class State {
    kValue,         // a value must come
    kKeyOrEnd,      // after '{': a key or '}'
    kKey,           // after ',' in an object: a key
    kColon,         // after a key
    kValueOrEnd,    // after '[': a value or ']'
    kAfterValue,    // ',' or the closing bracket
    kDone,          // the top-level object ended; only whitespace may follow
    kString,        // inside a string
    kEscape,        // after '\' in a string
    kHex,           // reading the 4 hex digits of \uXXXX
    kLowBackslash,  // after a high surrogate: '\' must come
    kLowU,          // then 'u'
    kNumber,        // inside a number
    kLiteral,       // inside true / false / null
    kError,
  };
  enum class Role { kKey, kTarget, kSkip };  // what a string being read is

  // Consumes byte c at the current state; false to read c again in the new state.
  bool step(char c, std::string& text);
  bool start_value(char c);
  void start_key();
  void end_value();
  void end_string();
  void emit(uint32_t cp, std::string& text);
  bool number_step(char c);
  bool check_utf8(uint8_t byte);
  bool fail(const std::string& what);

  std::string key_;
  State state_ = State::kValue;
  std::vector<char> stack_;  // '{' and '[' of the open containers
  Role role_ = Role::kSkip;
  bool in_key_ = false;       // the string being read is an object key
  std::string key_seen_;      // the depth-1 key being read (up to key_.size() + 1 bytes)
  bool target_next_ = false;  // the value being started belongs to the key
  bool found_ = false;
  bool started_ = false;
  uint32_t hex_ = 0, high_surrogate_ = 0;
  int hex_digits_ = 0;
  int number_state_ = 0;
  const char* literal_ = nullptr;  // the rest of the literal being read
  int utf8_pending_ = 0;           // continuation bytes still expected
  uint32_t utf8_cp_ = 0, utf8_min_ = 0;
  int64_t column_ = 0;  // 1-based column of the byte being read
  std::string error_;
};

}  // namespace me
