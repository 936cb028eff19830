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

class JsonTextStream;
class PiecewiseEncoder;

// One document as read: a JSON line still to be parsed, or the text of a plain-text document or
// of one piece of it (long documents are cut, see cut_text()).
struct RawDocument {
  int64_t line = 0;  // 1-based line where it starts
  std::string bytes;
  bool first = true;        // the piece starts its document
  bool last = true;         // the piece ends its document
  bool text_ready = false;  // bytes are already text: a piece of a JSON line too long to hold
  std::string error;        // that line turned out bad (then last is true and bytes empty)
};

class InputReader {
 public:
  // separator: for text, a line equal to it (ignoring a trailing '\r') ends a document, and ""
  // means blank lines do; without one the whole file is one document. Throws me::Error if the
  // file cannot be opened.
  InputReader(std::string path, std::optional<std::string> separator);

  // Plain text: hand a document longer than piece_bytes out in pieces cut at the encoder's cut
  // points, so memory stays near piece_bytes whatever the document's size. A document with no cut
  // point (one endless word) keeps growing until it has one. JSON lines: a line longer than
  // huge_line_bytes is not held but checked as it is read (datasets/json_text_stream.h), and the
  // string under json_key comes out in pieces like a text document.
  void cut_text(size_t piece_bytes, const PiecewiseEncoder* encoder, size_t huge_line_bytes = 0,
                std::string json_key = "");
  ~InputReader();

  // The next document (or piece); false at the end. JSON lines that are blank are skipped. A
  // text document keeps its lines' '\n' terminators; empty text documents are skipped.
  bool next(RawDocument& doc);
  const std::string& path() const { return path_; }
  InputFormat format() const { return format_; }
  int64_t bytes_read() const { return bytes_read_; }  // of the (decompressed) text
  // Bytes of the file itself consumed (the compressed bytes for .gz / .zst), for progress.
  int64_t file_bytes_read() const;

 private:
  // Reads the rest of the current line, at most max_bytes of it; false at the end of the input.
  // `complete`: the line ended (newline or end of input) within this read.
  bool read_line(std::string& line, size_t max_bytes, bool& had_newline, bool& complete);
  bool refill();
  bool next_text(RawDocument& doc);
  // The next piece of the huge JSON line being streamed.
  bool next_json_piece(RawDocument& doc);
  // Cuts doc at its last cut point, keeping the rest for the next piece; false if it has none.
  bool cut(RawDocument& doc);

  std::string path_;
  InputFormat format_;
  std::optional<std::string> separator_;
  std::unique_ptr<std::istream> in_;
  std::string buffer_;  // read ahead from in_
  size_t buffer_pos_ = 0;
  bool at_line_start_ = true;
  int64_t line_number_ = 0;  // of the line being read
  int64_t bytes_read_ = 0;
  size_t piece_bytes_ = 0;  // 0: documents are never cut
  const PiecewiseEncoder* encoder_ = nullptr;
  std::string carry_;           // text after the last cut: the start of the next piece
  int64_t carry_line_ = 0;      // the line where carry_ starts
  bool in_document_ = false;    // the last piece handed out did not end its document
  size_t no_cut_before_ = 0;    // the open document has no cut point before this byte
  size_t huge_line_bytes_ = 0;  // 0: JSON lines are held whole
  std::string json_key_;
  std::unique_ptr<JsonTextStream> json_;  // the huge line being streamed
  std::string json_head_;  // its first huge_line_bytes, read before it was known to be huge
  size_t json_head_pos_ = 0;
  int64_t json_line_ = 0;
};

// The text under `key` of one JSON line, or why the line is bad.
struct ParsedLine {
  std::string text;
  std::string error;  // malformed JSON, invalid UTF-8, not an object, key missing, not a string
};
ParsedLine parse_json_line(const std::string& line, const std::string& key);

}  // namespace me
