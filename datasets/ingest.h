// Ingest (Megatron's tools/preprocess_data.py): tokenizes JSON-lines or plain-text files into one
// HDF5 token store (datasets/token_store.h), in parallel and in input order, and reports a summary.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "datasets/tokenizer.h"

namespace me {

struct IngestOptions {
  std::vector<std::string> inputs;  // .jsonl/.json: JSON lines; anything else: plain text
  std::string output;               // the .h5 file; replaced only when the ingest succeeds
  std::string tokenizer_type;       // a TokenizerRegistry name
  TokenizerFiles tokenizer_files;
  std::string json_key = "text";  // the JSON field holding each document's text
  // Plain text: a line equal to this separates documents ("" = blank lines); unset = one
  // document per file.
  std::optional<std::string> text_document_separator;
  bool append_eod = false;  // end each non-empty document with the tokenizer's eod id
  int workers = 1;          // tokenizing threads; the output does not depend on it
  bool skip_bad_lines = false;
  int64_t log_interval = 0;  // documents between progress lines; 0 = none
  bool dry_run = false;      // read and tokenize only, write nothing (benchmarks)
  // Plain-text documents longer than this are tokenized in pieces (datasets/piecewise_encoder.h)
  // when the tokenizer allows it (not SentencePiece): memory stays bounded, pieces of one document
  // run on all workers, and the tokens are those of the whole document. Tests make it small.
  size_t piece_bytes = size_t{1} << 20;
  // A JSON line longer than this is not held: it is checked as it is read and its text comes out
  // in pieces as above (same tokenizers). Its key must then appear once (nlohmann keeps the last).
  size_t huge_line_bytes = size_t{16} << 20;
};

struct IngestSummary {
  static constexpr size_t kReportedBadLines = 5;
  int64_t documents = 0;
  int64_t tokens = 0;
  int64_t input_bytes = 0;
  int64_t bad_lines = 0;                     // lines skipped under skip_bad_lines
  std::vector<std::string> first_bad_lines;  // "file:line: reason", at most kReportedBadLines
  double seconds = 0;
};

// Throws me::Error for a missing or empty input, a missing tokenizer file, and (without
// skip_bad_lines) the first bad JSON line as "FILE:LINE: error: ...". On any error no output
// file is written and an existing one is left untouched.
IngestSummary ingest(const IngestOptions& options);

// The summary as printed: documents, tokens, tokens/document, input MB, MB/s, bad lines, time.
std::string format_summary(const IngestSummary& summary, const std::string& output);

}  // namespace me
