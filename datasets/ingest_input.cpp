// Reading ingest inputs line by line (bounded memory for JSON lines and separated text), plain
// text documents in pieces at the tokenizer's cut points (bounded memory for any text), and
// parsing JSON lines with errors a user can act on.
#include "datasets/ingest_input.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "datasets/compressed_stream.h"
#include "datasets/gpt2_pretokenizer.h"
#include "datasets/json_text_stream.h"
#include "datasets/piecewise_encoder.h"
#include "engine/core/error.h"

namespace me {
namespace {

constexpr size_t kReadBlock = size_t{1} << 20;
// Bytes at the end of a document rescanned for a cut point when more text arrives: a cut point
// is found only this close to the end (BPE keeps the longest added token plus 4 bytes clear).
constexpr size_t kRescanBytes = 4096;

}  // namespace

InputFormat input_format_of(const std::string& path) {
  const std::string ext =
      std::filesystem::path(without_compression_extension(path)).extension().string();
  return ext == ".jsonl" || ext == ".json" ? InputFormat::kJsonLines : InputFormat::kText;
}

InputReader::InputReader(std::string path, std::optional<std::string> separator)
    : path_(std::move(path)), format_(input_format_of(path_)), separator_(std::move(separator)) {
  in_ = open_input_stream(path_);
}

InputReader::~InputReader() = default;

void InputReader::cut_text(size_t piece_bytes, const PiecewiseEncoder* encoder,
                           size_t huge_line_bytes, std::string json_key) {
  ME_CHECK(piece_bytes > 0 && encoder, "cut_text needs a piece size and an encoder");
  piece_bytes_ = piece_bytes;
  encoder_ = encoder;
  huge_line_bytes_ = huge_line_bytes;
  json_key_ = std::move(json_key);
}

bool InputReader::refill() {
  buffer_.resize(kReadBlock);
  in_->read(buffer_.data(), std::streamsize(kReadBlock));
  buffer_.resize(size_t(in_->gcount()));
  buffer_pos_ = 0;
  if (in_->bad()) {
    throw Error(fmt::format("read error after line {}: {}", line_number_,
                            stream_error(*in_).empty() ? "I/O error" : stream_error(*in_)),
                path_);
  }
  return !buffer_.empty();
}

bool InputReader::read_line(std::string& line, size_t max_bytes, bool& had_newline,
                            bool& complete) {
  line.clear();
  had_newline = complete = false;
  if (buffer_pos_ == buffer_.size() && !refill()) return false;
  if (at_line_start_) ++line_number_;
  while (true) {
    if (buffer_pos_ == buffer_.size() && !refill()) {
      complete = at_line_start_ = true;
      return true;
    }
    const char* begin = buffer_.data() + buffer_pos_;
    const size_t take = std::min(buffer_.size() - buffer_pos_, max_bytes - line.size());
    if (const void* newline = std::memchr(begin, '\n', take)) {
      const size_t length = size_t(static_cast<const char*>(newline) - begin);
      line.append(begin, length);
      buffer_pos_ += length + 1;
      bytes_read_ += int64_t(length) + 1;
      had_newline = complete = at_line_start_ = true;
      return true;
    }
    line.append(begin, take);
    buffer_pos_ += take;
    bytes_read_ += int64_t(take);
    if (line.size() == max_bytes) {
      at_line_start_ = false;
      return true;
    }
  }
}

int64_t InputReader::file_bytes_read() const {
  const int64_t compressed = compressed_bytes_read(*in_);
  return compressed >= 0 ? compressed : bytes_read_;
}

bool InputReader::next(RawDocument& doc) {
  if (format_ == InputFormat::kText) return next_text(doc);
  if (json_) return next_json_piece(doc);
  doc.first = doc.last = true;
  doc.text_ready = false;
  doc.error.clear();
  const size_t limit = huge_line_bytes_ > 0 ? huge_line_bytes_ : std::string::npos;
  bool had_newline = false, complete = false;
  while (read_line(doc.bytes, limit, had_newline, complete)) {
    doc.line = line_number_;
    if (!complete) {
      json_ = std::make_unique<JsonTextStream>(json_key_);
      json_line_ = line_number_;
      json_head_ = std::move(doc.bytes);
      json_head_pos_ = 0;
      doc.bytes.clear();
      return next_json_piece(doc);
    }
    if (doc.bytes.find_first_not_of(" \t\r") == std::string::npos) continue;
    return true;
  }
  return false;
}

bool InputReader::next_json_piece(RawDocument& doc) {
  doc.bytes.swap(carry_);
  carry_.clear();
  doc.line = json_line_;
  doc.first = !in_document_;
  doc.last = false;
  doc.text_ready = true;
  doc.error.clear();
  in_document_ = true;
  // Parts of at most a piece, so that a piece is cut as soon as it is full: first the head
  // read before the line was known to be huge, then the rest of the line.
  const size_t part_bytes = std::min(kReadBlock, piece_bytes_);
  std::string part;
  bool had_newline = false, complete = at_line_start_;
  while (true) {
    bool fed = true;
    if (!complete && json_head_pos_ < json_head_.size()) {
      const size_t n = std::min(part_bytes, json_head_.size() - json_head_pos_);
      fed = json_->feed(std::string_view(json_head_).substr(json_head_pos_, n), doc.bytes);
      json_head_pos_ += n;
    } else if (!complete) {
      fed = read_line(part, part_bytes, had_newline, complete) && json_->feed(part, doc.bytes);
    }
    if (json_head_pos_ == json_head_.size() || !fed) {
      std::string().swap(json_head_);
      json_head_pos_ = 0;
    }
    if (!fed) {
      // Bad (or cut short by the end of the file): skip the rest of the line.
      while (!complete && read_line(part, kReadBlock, had_newline, complete)) {
      }
      complete = true;
    }
    if (complete) {
      const bool ok = json_->finish(), blank = json_->blank() && doc.first;
      if (!ok) doc.error = json_->error();
      json_.reset();
      in_document_ = false;
      no_cut_before_ = 0;
      doc.last = true;
      if (blank) return next(doc);
      if (!ok) doc.bytes.clear();
      return true;
    }
    if (doc.bytes.size() >= piece_bytes_ && cut(doc)) return true;
  }
}

bool InputReader::next_text(RawDocument& doc) {
  doc.bytes.swap(carry_);
  carry_.clear();
  doc.line = carry_line_;
  doc.first = !in_document_;
  doc.last = true;
  in_document_ = false;
  // A line longer than this is read in parts; it cannot be a separator line.
  const size_t max_line = std::max(kReadBlock, separator_ ? separator_->size() + 2 : 0);
  std::string line;
  bool had_newline = false, complete = false;
  for (bool line_start = at_line_start_; read_line(line, max_line, had_newline, complete);
       line_start = at_line_start_) {
    if (separator_ && line_start && complete) {
      std::string_view bare(line);
      if (!bare.empty() && bare.back() == '\r') bare.remove_suffix(1);
      if (bare == *separator_) {
        if (!doc.bytes.empty()) break;
        continue;
      }
    }
    if (doc.bytes.empty()) doc.line = line_number_;
    doc.bytes += line;
    if (had_newline) doc.bytes.push_back('\n');
    if (piece_bytes_ > 0 && doc.bytes.size() >= piece_bytes_ && cut(doc)) return true;
  }
  no_cut_before_ = 0;
  return !doc.bytes.empty();
}

bool InputReader::cut(RawDocument& doc) {
  const size_t p = encoder_->cut_point(doc.bytes, no_cut_before_);
  if (p == 0) {
    // Only the tail can gain a cut point once more text arrives (a cut needs the bytes after it).
    no_cut_before_ = doc.bytes.size() > kRescanBytes ? doc.bytes.size() - kRescanBytes : 0;
    return false;
  }
  carry_.assign(doc.bytes, p);
  const auto newlines_after = std::count(carry_.begin(), carry_.end(), '\n');
  carry_line_ = line_number_ - newlines_after + (doc.bytes.back() == '\n' ? 1 : 0);
  doc.bytes.resize(p);
  doc.last = false;
  in_document_ = true;
  no_cut_before_ = 0;
  return true;
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
