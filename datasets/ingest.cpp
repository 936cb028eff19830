// Ingest: read documents (or pieces of long ones) in batches, tokenize each batch on `workers`
// threads (contiguous slices, so results come back in input order), and append them to a
// TokenStoreWriter on this thread, joining the pieces of a document.
#include "datasets/ingest.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>
#include <filesystem>
#include <thread>

#include "datasets/ingest_input.h"
#include "datasets/ingest_progress.h"
#include "datasets/piecewise_encoder.h"
#include "datasets/sha256.h"
#include "datasets/token_store.h"
#include "engine/core/error.h"

namespace me {
namespace {

constexpr size_t kBatchDocumentsPerWorker = 256;
constexpr size_t kBatchBytesPerWorker = size_t{4} << 20;

struct Tokenized {
  std::vector<int32_t> tokens;
  std::string error;  // non-empty for a bad line
};

class Ingester {
 public:
  explicit Ingester(const IngestOptions& options) : options_(options) {}
  IngestSummary run();

 private:
  void check_options() const;
  std::vector<SourceFile> describe_sources() const;
  // `writer` is null for a dry run.
  void ingest_file(const std::string& path, TokenStoreWriter* writer);
  void tokenize_batch(const std::vector<RawDocument>& batch, InputFormat format,
                      std::vector<Tokenized>& out) const;
  Tokenized tokenize(const RawDocument& doc, InputFormat format) const;
  void write(const RawDocument& doc, Tokenized& result, const std::string& path,
             TokenStoreWriter* writer);
  // An empty input is an error, or a warning under skip_bad_lines.
  void report_empty(const std::string& path, const std::string& what) const;

  const IngestOptions& options_;
  std::unique_ptr<Tokenizer> tokenizer_;
  const PiecewiseEncoder* pieces_ = nullptr;  // null: documents are tokenized whole
  IngestSummary summary_;
  int64_t open_document_tokens_ = 0;  // tokens written of the document whose pieces are arriving
  std::chrono::steady_clock::time_point start_;
  std::unique_ptr<IngestProgress> progress_;
  int64_t bytes_before_file_ = 0;  // input bytes of the files already ingested
};

void Ingester::check_options() const {
  if (options_.inputs.empty()) throw Error("no input files", "--input");
  if (options_.output.empty()) throw Error("no output file", "--output");
  if (options_.workers < 1) {
    throw Error(fmt::format("must be at least 1, got {}", options_.workers), "--workers");
  }
  if (options_.json_key.empty()) throw Error("the JSON key must not be empty", "--json-keys");
  if (options_.piece_bytes == 0) throw Error("must be positive", "piece_bytes");
  if (options_.huge_line_bytes == 0) throw Error("must be positive", "huge_line_bytes");
}

std::vector<SourceFile> Ingester::describe_sources() const {
  std::vector<SourceFile> sources;
  for (const auto& path : options_.inputs) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      throw Error(std::filesystem::exists(path, ec) ? "input is not a regular file"
                                                    : "input file not found",
                  path);
    }
    SourceFile source;
    source.path = std::filesystem::absolute(path).lexically_normal().string();
    source.bytes = int64_t(std::filesystem::file_size(path));
    source.sha256 = sha256_file(path);
    if (source.bytes == 0) report_empty(path, "input file is empty");
    sources.push_back(std::move(source));
  }
  return sources;
}

void Ingester::report_empty(const std::string& path, const std::string& what) const {
  if (!options_.skip_bad_lines) throw Error(what + " (no documents)", path);
  spdlog::warn("{}: {}; nothing ingested from it", path, what);
}

IngestSummary Ingester::run() {
  start_ = std::chrono::steady_clock::now();
  check_options();
  tokenizer_ =
      TokenizerRegistry::instance().create(options_.tokenizer_type, options_.tokenizer_files);
  pieces_ = dynamic_cast<const PiecewiseEncoder*>(tokenizer_.get());
  TokenStoreMeta meta;
  meta.tokenizer_type = tokenizer_->type();
  meta.tokenizer_sha256 = tokenizer_->files_sha256();
  meta.vocab_size = tokenizer_->vocab_size();
  meta.eod_id = tokenizer_->eod_id();
  meta.sources = describe_sources();
  for (const auto& source : meta.sources) summary_.input_bytes += source.bytes;

  progress_ =
      std::make_unique<IngestProgress>(summary_.input_bytes, IngestProgress::stderr_is_terminal());
  std::unique_ptr<TokenStoreWriter> writer;
  if (!options_.dry_run) writer = std::make_unique<TokenStoreWriter>(options_.output, meta);
  for (size_t i = 0; i < options_.inputs.size(); ++i) {
    ingest_file(options_.inputs[i], writer.get());
    bytes_before_file_ += meta.sources[i].bytes;
  }
  progress_->finish();
  if (summary_.documents == 0) throw Error("no documents to write", options_.output);
  if (writer) writer->finish();
  summary_.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return summary_;
}

void Ingester::ingest_file(const std::string& path, TokenStoreWriter* writer) {
  InputReader reader(path, options_.text_document_separator);
  if (pieces_) {
    reader.cut_text(options_.piece_bytes, pieces_, options_.huge_line_bytes, options_.json_key);
  }
  const size_t workers = size_t(options_.workers);
  std::vector<RawDocument> batch;
  std::vector<Tokenized> results;
  int64_t documents_in_file = 0;
  for (bool more = true; more;) {
    batch.clear();
    size_t batch_bytes = 0;
    RawDocument doc;
    while (batch.size() < kBatchDocumentsPerWorker * workers &&
           batch_bytes < kBatchBytesPerWorker * workers && (more = reader.next(doc))) {
      batch_bytes += doc.bytes.size();
      batch.push_back(std::move(doc));
    }
    tokenize_batch(batch, reader.format(), results);
    for (size_t i = 0; i < batch.size(); ++i) {
      write(batch[i], results[i], path, writer);
      documents_in_file += batch[i].last ? 1 : 0;
    }
    progress_->update(bytes_before_file_ + reader.file_bytes_read(), summary_.documents);
  }
  if (documents_in_file == 0 && reader.bytes_read() > 0) {
    report_empty(path, "input file has only blank lines");
  }
}

void Ingester::tokenize_batch(const std::vector<RawDocument>& batch, InputFormat format,
                              std::vector<Tokenized>& out) const {
  out.assign(batch.size(), {});
  const size_t threads = std::min(size_t(options_.workers), batch.size());
  if (threads <= 1) {
    for (size_t i = 0; i < batch.size(); ++i) out[i] = tokenize(batch[i], format);
    return;
  }
  const size_t slice = (batch.size() + threads - 1) / threads;
  std::vector<std::exception_ptr> failures(threads);
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      try {
        for (size_t i = t * slice; i < std::min(batch.size(), (t + 1) * slice); ++i) {
          out[i] = tokenize(batch[i], format);
        }
      } catch (...) {
        failures[t] = std::current_exception();
      }
    });
  }
  for (auto& thread : pool) thread.join();
  for (auto& failure : failures) {
    if (failure) std::rethrow_exception(failure);
  }
}

Tokenized Ingester::tokenize(const RawDocument& doc, InputFormat format) const {
  Tokenized result;
  if (!doc.error.empty()) return {{}, doc.error};
  if (format == InputFormat::kJsonLines && !doc.text_ready) {
    ParsedLine parsed = parse_json_line(doc.bytes, options_.json_key);
    if (!parsed.error.empty()) return {{}, std::move(parsed.error)};
    result.tokens = tokenizer_->encode(parsed.text);
  } else if (pieces_) {
    pieces_->encode_part(doc.bytes, doc.first, doc.last, result.tokens);
  } else {
    result.tokens = tokenizer_->encode(doc.bytes);
  }
  return result;
}

void Ingester::write(const RawDocument& doc, Tokenized& result, const std::string& path,
                     TokenStoreWriter* writer) {
  if (!result.error.empty()) {
    if (!doc.first) {  // pieces of this line were written before it turned out bad
      if (writer) writer->discard_document();
      summary_.tokens -= open_document_tokens_;
      open_document_tokens_ = 0;
    }
    const std::string where = fmt::format("{}:{}", path, doc.line);
    if (!options_.skip_bad_lines) {
      throw Error(result.error + " (--skip-bad-lines skips such lines)", where);
    }
    ++summary_.bad_lines;
    if (summary_.first_bad_lines.size() < IngestSummary::kReportedBadLines) {
      summary_.first_bad_lines.push_back(where + ": " + result.error);
      spdlog::warn("{}: skipped: {}", where, result.error);
    }
    return;
  }
  // As Megatron: a document without tokens stays (empty) and gets no eod.
  open_document_tokens_ += int64_t(result.tokens.size());
  if (doc.last && options_.append_eod && open_document_tokens_ > 0) {
    result.tokens.push_back(tokenizer_->eod_id());
  }
  if (writer) writer->append_tokens(result.tokens);
  summary_.tokens += int64_t(result.tokens.size());
  if (!doc.last) return;
  if (writer) writer->end_document();
  open_document_tokens_ = 0;
  ++summary_.documents;
  if (options_.log_interval > 0 && summary_.documents % options_.log_interval == 0) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    spdlog::info("ingest: {} documents, {} tokens, {:.1f} documents/s", summary_.documents,
                 summary_.tokens, double(summary_.documents) / std::max(seconds, 1e-9));
  }
}

}  // namespace

IngestSummary ingest(const IngestOptions& options) { return Ingester(options).run(); }

std::string format_summary(const IngestSummary& s, const std::string& output) {
  const double mb = double(s.input_bytes) / 1e6;
  std::string text = fmt::format(
      "ingest: wrote {}\n"
      "  documents  {}\n"
      "  tokens     {} ({:.1f} per document)\n"
      "  input      {:.2f} MB in {:.2f} s ({:.2f} MB/s)\n"
      "  bad lines  {} skipped",
      output, s.documents, s.tokens, s.documents ? double(s.tokens) / double(s.documents) : 0.0, mb,
      s.seconds, mb / std::max(s.seconds, 1e-9), s.bad_lines);
  for (const auto& line : s.first_bad_lines) text += "\n    " + line;
  if (s.bad_lines > int64_t(s.first_bad_lines.size())) text += "\n    ...";
  return text + "\n";
}

}  // namespace me
