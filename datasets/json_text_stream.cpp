// JsonTextStream: a byte-at-a-time JSON checker (RFC 8259 grammar, UTF-8) that decodes the one
// string it is asked for and skips everything else.
#include "datasets/json_text_stream.h"

#include <fmt/format.h>

namespace me {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// nlohmann::json's type_name() of the value starting with c.
const char* type_of(char c) {
  switch (c) {
    case '{':
      return "object";
    case '[':
      return "array";
    case '"':
      return "string";
    case 't':
    case 'f':
      return "boolean";
    case 'n':
      return "null";
    default:
      return c == '-' || is_digit(c) ? "number" : nullptr;
  }
}

}  // namespace

bool JsonTextStream::fail(const std::string& what) {
  if (state_ != State::kError) error_ = what;
  state_ = State::kError;
  return false;
}

bool JsonTextStream::feed(std::string_view part, std::string& text) {
  for (char c : part) {
    if (state_ == State::kError) return false;
    ++column_;
    if (!check_utf8(uint8_t(c))) return false;
    while (!step(c, text)) {
    }
  }
  return state_ != State::kError;
}

bool JsonTextStream::finish() {
  if (state_ == State::kError) return false;
  if (utf8_pending_ > 0) return fail("invalid UTF-8 (a sequence cut short by the end of the line)");
  if (state_ != State::kDone) {
    return fail(
        fmt::format("malformed JSON: the line ends inside the object (column {})", column_));
  }
  if (!found_) return fail(fmt::format("no key '{}' in the JSON object", key_));
  return true;
}

bool JsonTextStream::check_utf8(uint8_t byte) {
  const auto bad = [&] {
    return fail(fmt::format("invalid UTF-8 (byte 0x{:02X} at column {})", byte, column_));
  };
  if (utf8_pending_ > 0) {
    if ((byte & 0xC0) != 0x80) return bad();
    utf8_cp_ = (utf8_cp_ << 6) | (byte & 0x3F);
    if (--utf8_pending_ == 0 && (utf8_cp_ < utf8_min_ || utf8_cp_ > 0x10FFFF ||
                                 (utf8_cp_ >= 0xD800 && utf8_cp_ <= 0xDFFF))) {
      return bad();
    }
    return true;
  }
  if (byte < 0x80) return true;
  if ((byte & 0xE0) == 0xC0) {
    utf8_pending_ = 1, utf8_cp_ = byte & 0x1F, utf8_min_ = 0x80;
  } else if ((byte & 0xF0) == 0xE0) {
    utf8_pending_ = 2, utf8_cp_ = byte & 0x0F, utf8_min_ = 0x800;
  } else if ((byte & 0xF8) == 0xF0) {
    utf8_pending_ = 3, utf8_cp_ = byte & 0x07, utf8_min_ = 0x10000;
  } else {
    return bad();
  }
  return true;
}

void JsonTextStream::end_value() { state_ = stack_.empty() ? State::kDone : State::kAfterValue; }

void JsonTextStream::emit(uint32_t cp, std::string& text) {
  char bytes[4];
  size_t n = 0;
  if (cp < 0x80) {
    bytes[n++] = char(cp);
  } else if (cp < 0x800) {
    bytes[n++] = char(0xC0 | (cp >> 6));
    bytes[n++] = char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    bytes[n++] = char(0xE0 | (cp >> 12));
    bytes[n++] = char(0x80 | ((cp >> 6) & 0x3F));
    bytes[n++] = char(0x80 | (cp & 0x3F));
  } else {
    bytes[n++] = char(0xF0 | (cp >> 18));
    bytes[n++] = char(0x80 | ((cp >> 12) & 0x3F));
    bytes[n++] = char(0x80 | ((cp >> 6) & 0x3F));
    bytes[n++] = char(0x80 | (cp & 0x3F));
  }
  if (role_ == Role::kTarget) text.append(bytes, n);
  if (role_ == Role::kKey && key_seen_.size() <= key_.size()) key_seen_.append(bytes, n);
}

bool JsonTextStream::start_value(char c) {
  const bool target = target_next_;
  target_next_ = false;
  started_ = true;
  const char* type = type_of(c);
  if (!type) return fail(fmt::format("malformed JSON: unexpected '{}' at column {}", c, column_));
  if (stack_.empty() && c != '{') {
    return fail(fmt::format("expected a JSON object, got {}", type));
  }
  if (target && c != '"') {
    return fail(fmt::format("the value of '{}' is of type {}, expected a string", key_, type));
  }
  if (c == '{' || c == '[') {
    stack_.push_back(c);
    state_ = c == '{' ? State::kKeyOrEnd : State::kValueOrEnd;
  } else if (c == '"') {
    if (target && found_) {
      return fail(fmt::format("the key '{}' appears twice in a line too long to hold", key_));
    }
    found_ = found_ || target;
    role_ = target ? Role::kTarget : Role::kSkip;
    in_key_ = false;
    state_ = State::kString;
  } else if (c == 't' || c == 'f' || c == 'n') {
    literal_ = c == 't' ? "rue" : c == 'f' ? "alse" : "ull";
    state_ = State::kLiteral;
  } else {
    number_state_ = c == '-' ? 0 : c == '0' ? 2 : 1;
    state_ = State::kNumber;
  }
  return true;
}

void JsonTextStream::start_key() {
  role_ = stack_.size() == 1 ? Role::kKey : Role::kSkip;
  in_key_ = true;
  key_seen_.clear();
  state_ = State::kString;
}

void JsonTextStream::end_string() {
  if (!in_key_) return end_value();
  target_next_ = role_ == Role::kKey && key_seen_ == key_;
  state_ = State::kColon;
}

bool JsonTextStream::number_step(char c) {
  // 0 after '-', 1 integer digits, 2 after a leading 0, 3 after '.', 4 fraction digits,
  // 5 after 'e', 6 after the exponent's sign, 7 exponent digits.
  const bool digit = is_digit(c), exp = c == 'e' || c == 'E';
  const auto bad = [&] {
    return fail(fmt::format("malformed JSON: bad number at column {}", column_));
  };
  switch (number_state_) {
    case 0:
      if (!digit) return bad();
      number_state_ = c == '0' ? 2 : 1;
      return true;
    case 1:
    case 2:
      if (digit && number_state_ == 2) return bad();
      if (digit) return true;
      if (c == '.') return number_state_ = 3, true;
      if (exp) return number_state_ = 5, true;
      break;
    case 3:
      if (!digit) return bad();
      return number_state_ = 4, true;
    case 4:
      if (digit) return true;
      if (exp) return number_state_ = 5, true;
      break;
    case 5:
      if (c == '+' || c == '-') return number_state_ = 6, true;
      if (!digit) return bad();
      return number_state_ = 7, true;
    case 6:
      if (!digit) return bad();
      return number_state_ = 7, true;
    default:
      if (digit) return true;
      break;
  }
  end_value();
  return false;  // c belongs to what follows the number
}

bool JsonTextStream::step(char c, std::string& text) {
  const auto unexpected = [&](const char* wanted) {
    fail(fmt::format("malformed JSON: expected {} at column {}", wanted, column_));
    return true;
  };
  switch (state_) {
    case State::kValue:
      return is_space(c) ? true : (start_value(c), true);
    case State::kKeyOrEnd:
    case State::kKey:
      if (is_space(c)) return true;
      if (c == '"') return start_key(), true;
      if (c == '}' && state_ == State::kKeyOrEnd) return stack_.pop_back(), end_value(), true;
      return unexpected("a key");
    case State::kColon:
      if (is_space(c)) return true;
      if (c != ':') return unexpected("':'");
      state_ = State::kValue;
      return true;
    case State::kValueOrEnd:
      if (is_space(c)) return true;
      if (c == ']') return stack_.pop_back(), end_value(), true;
      state_ = State::kValue;
      return start_value(c), true;
    case State::kAfterValue:
      if (is_space(c)) return true;
      if (c == ',') {
        state_ = stack_.back() == '{' ? State::kKey : State::kValue;
        return true;
      }
      if ((c == '}' && stack_.back() == '{') || (c == ']' && stack_.back() == '[')) {
        return stack_.pop_back(), end_value(), true;
      }
      return unexpected(stack_.back() == '{' ? "',' or '}'" : "',' or ']'");
    case State::kDone:
      return is_space(c) ? true : unexpected("the end of the line after the object");
    case State::kString:
      if (c == '"') return end_string(), true;
      if (c == '\\') return state_ = State::kEscape, true;
      if (uint8_t(c) < 0x20) return unexpected("no control character in a string");
      if (role_ == Role::kTarget) text.push_back(c);
      if (role_ == Role::kKey && key_seen_.size() <= key_.size()) key_seen_.push_back(c);
      return true;
    case State::kEscape: {
      static constexpr std::string_view kFrom = "\"\\/bfnrt", kTo = "\"\\/\b\f\n\r\t";
      if (c == 'u') {
        hex_ = 0, hex_digits_ = 0, state_ = State::kHex;
      } else if (const size_t at = kFrom.find(c); at != std::string_view::npos) {
        emit(uint8_t(kTo[at]), text);
        state_ = State::kString;
      } else {
        return unexpected("an escape character");
      }
      return true;
    }
    case State::kHex: {
      const int v = hex_value(c);
      if (v < 0) return unexpected("a hex digit");
      hex_ = hex_ * 16 + uint32_t(v);
      if (++hex_digits_ < 4) return true;
      state_ = State::kString;
      if (high_surrogate_ != 0) {
        if (hex_ < 0xDC00 || hex_ > 0xDFFF) return unexpected("a low surrogate");
        emit(0x10000 + ((high_surrogate_ - 0xD800) << 10) + (hex_ - 0xDC00), text);
        high_surrogate_ = 0;
      } else if (hex_ >= 0xD800 && hex_ <= 0xDBFF) {
        high_surrogate_ = hex_;
        state_ = State::kLowBackslash;
      } else if (hex_ >= 0xDC00 && hex_ <= 0xDFFF) {
        return unexpected("a high surrogate before a low one");
      } else {
        emit(hex_, text);
      }
      return true;
    }
    case State::kLowBackslash:
      if (c != '\\') return unexpected("'\\u' and a low surrogate");
      return state_ = State::kLowU, true;
    case State::kLowU:
      if (c != 'u') return unexpected("'u' and a low surrogate");
      hex_ = 0, hex_digits_ = 0, state_ = State::kHex;
      return true;
    case State::kNumber:
      return number_step(c);
    case State::kLiteral:
      if (c != *literal_) return unexpected("true, false or null");
      if (*++literal_ == '\0') end_value();
      return true;
    case State::kError:
      return true;
  }
  return true;
}

}  // namespace me
