// Reading ingest inputs line by line (bounded memory for JSON lines and separated text) and
// parsing JSON lines with errors a user can act on.
#include "datasets/ingest_input.h"

#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "datasets/compressed_stream.h"
#include "datasets/gpt2_pretokenizer.h"
#include "engine/core/error.h"

namespace me {

InputFormat input_format_of(const std::string& path) {
  const std::string ext =
      std::filesystem::path(without_compression_extension(path)).extension().string();
  return ext == ".jsonl" || ext == ".json" ? InputFormat::kJsonLines : InputFormat::kText;
}

InputReader::InputReader(std::string path, std::optional<std::string> separator)
    : path_(std::move(path)), format_(input_format_of(path_)), separator_(std::move(separator)) {
  in_ = open_input_stream(path_);
}

bool InputReader::read_line(std::string& line, bool& had_newline) {
  if (!std::getline(*in_, line)) {
    if (in_->bad()) {
      throw Error(fmt::format("read error after line {}: {}", line_number_,
                              stream_error(*in_).empty() ? "I/O error" : stream_error(*in_)),
                  path_);
    }
    return false;
  }
  had_newline = !in_->eof();
  ++line_number_;
  bytes_read_ += int64_t(line.size()) + (had_newline ? 1 : 0);
  return true;
}

int64_t InputReader::file_bytes_read() const {
  const int64_t compressed = compressed_bytes_read(*in_);
  return compressed >= 0 ? compressed : bytes_read_;
}

bool InputReader::next(RawDocument& doc) {
  if (format_ == InputFormat::kText) return next_text(doc);
  bool had_newline = false;
  while (read_line(doc.bytes, had_newline)) {
    if (doc.bytes.find_first_not_of(" \t\r") == std::string::npos) continue;
    doc.line = line_number_;
    return true;
  }
  return false;
}

bool InputReader::next_text(RawDocument& doc) {
  doc.bytes.clear();
  std::string line;
  bool had_newline = false;
  while (read_line(line, had_newline)) {
    if (separator_) {
      std::string_view bare(line);
      if (!bare.empty() && bare.back() == '\r') bare.remove_suffix(1);
      if (bare == *separator_) {
        if (!doc.bytes.empty()) return true;
        continue;
      }
    }
    if (doc.bytes.empty()) doc.line = line_number_;
    doc.bytes += line;
    if (had_newline) doc.bytes.push_back('\n');
  }
  return !doc.bytes.empty();
}

ParsedLine parse_json_line(const std::string& line, const std::string& key) {
  for (size_t pos = 0; pos < line.size();) {
    uint32_t cp;
    const size_t len = decode_utf8(line, pos, cp);
    if (cp == kInvalidCodePoint) {
      return {"", fmt::format("invalid UTF-8 (byte 0x{:02X} at column {})", uint8_t(line[pos]),
                              pos + 1)};
    }
    pos += len;
  }
  nlohmann::json record;
  try {
    record = nlohmann::json::parse(line);
  } catch (const nlohmann::json::parse_error& e) {
    std::string reason = e.what();
    if (auto at = reason.find("] "); at != std::string::npos) reason = reason.substr(at + 2);
    return {"", "malformed JSON: " + reason};
  }
  if (!record.is_object()) {
    return {"", fmt::format("expected a JSON object, got {}", record.type_name())};
  }
  auto it = record.find(key);
  if (it == record.end()) return {"", fmt::format("no key '{}' in the JSON object", key)};
  if (!it->is_string()) {
    return {"", fmt::format("the value of '{}' is of type {}, expected a string", key,
                            it->type_name())};
  }
  return {it->get<std::string>(), ""};
}

}  // namespace me
