// The documents of one ingest input file, read sequentially: JSON lines (.jsonl/.json) or plain
// text split into documents by a separator line. Parsing a JSON line is separate (and thread-safe)
// so that worker threads can do it next to tokenization.
#pragma once

#include <cstdint>
#include <istream>
#include <memory>
#include <optional>
#include <string>

namespace me {

enum class InputFormat { kJsonLines, kText };

// .jsonl and .json files are JSON lines; anything else is plain text. A .gz or .zst extension
// (compressed input, datasets/compressed_stream.h) is looked through: a.jsonl.zst is JSON lines.
InputFormat input_format_of(const std::string& path);

// One document as read: a JSON line still to be parsed, or the text of a plain-text document.
struct RawDocument {
  int64_t line = 0;  // 1-based line where it starts
  std::string bytes;
};

class InputReader {
 public:
  // separator: for text, a line equal to it (ignoring a trailing '\r') ends a document, and ""
  // means blank lines do; without one the whole file is one document. Throws me::Error if the
  // file cannot be opened.
  InputReader(std::string path, std::optional<std::string> separator);

  // The next document; false at the end. JSON lines that are blank are skipped. A text
  // document keeps its lines' '\n' terminators; empty text documents are skipped.
  bool next(RawDocument& doc);
  const std::string& path() const { return path_; }
  InputFormat format() const { return format_; }
  int64_t bytes_read() const { return bytes_read_; }  // of the (decompressed) text
  // Bytes of the file itself consumed (the compressed bytes for .gz / .zst), for progress.
  int64_t file_bytes_read() const;

 private:
  bool read_line(std::string& line, bool& had_newline);
  bool next_text(RawDocument& doc);

  std::string path_;
  InputFormat format_;
  std::optional<std::string> separator_;
  std::unique_ptr<std::istream> in_;
  int64_t line_number_ = 0;
  int64_t bytes_read_ = 0;
};

// The text under `key` of one JSON line, or why the line is bad.
struct ParsedLine {
  std::string text;
  std::string error;  // malformed JSON, invalid UTF-8, not an object, key missing, not a string
};
ParsedLine parse_json_line(const std::string& line, const std::string& key);

}  // namespace me
