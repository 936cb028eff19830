// Ingest into an HDF5 token store, read back through TokenStore: documents equal the tokenizer's
// encoding (+ eod), workers do not change the output, and bad input fails cleanly.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "datasets/byte_tokenizer.h"
#include "datasets/ingest.h"
#include "datasets/sha256.h"
#include "datasets/token_store.h"
#include "engine/core/error.h"
#include "tests/support/process.h"

using me::testing::TempDir;
using me::testing::write_text;

namespace {

const std::string kTokenizerJson = std::string(ME_TEST_DATA_DIR) + "/tokenizer/tokenizer.json";

me::IngestOptions byte_options(std::vector<std::string> inputs, std::string output) {
  me::IngestOptions options;
  options.inputs = std::move(inputs);
  options.output = std::move(output);
  options.tokenizer_type = "byte";
  return options;
}

std::vector<int32_t> bytes_of(const std::string& text) {
  return std::vector<int32_t>(text.begin(), text.end());
}

std::string ingest_error(const me::IngestOptions& options) {
  try {
    me::ingest(options);
  } catch (const me::Error& e) {
    return e.what();
  }
  return "";
}

// Files in dir other than the given ones (leftover temporaries).
std::vector<std::string> stray_files(const TempDir& dir, const std::vector<std::string>& expected) {
  std::vector<std::string> stray;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    const std::string name = entry.path().filename().string();
    if (std::find(expected.begin(), expected.end(), name) == expected.end()) stray.push_back(name);
  }
  return stray;
}

// `count` JSON lines with texts of varied length and script.
std::string varied_jsonl(int count) {
  const char* words[] = {"alpha", "naïve", "日本語", "42", "don't", "👍", "x**2", "\\t", "\\n"};
  std::string out;
  for (int d = 0; d < count; ++d) {
    std::string text;
    for (int w = 0; w < 1 + (d * 7) % 23; ++w) text += std::string(words[(d + w * 5) % 9]) + " ";
    out += fmt::format("{{\"id\": {}, \"text\": \"{}\"}}\n", d, text);
  }
  return out;
}

}  // namespace

TEST_CASE("JSON lines ingest: documents are the tokenizer's ids plus eod") {
  TempDir dir;
  const std::vector<std::string> texts = {"Hello, world!", "café naïve 日本語", "",
                                          "end<|endoftext|>start", "a   b\t\t\nc"};
  std::string jsonl;
  for (const auto& t : texts) jsonl += nlohmann::json{{"text", t}, {"other", 1}}.dump() + "\n";
  write_text(dir / "in.jsonl", jsonl + "\n   \n");  // trailing blank lines are ignored

  me::IngestOptions options;
  options.inputs = {dir / "in.jsonl"};
  options.output = dir / "out.h5";
  options.tokenizer_type = "HuggingFaceTokenizer";
  options.tokenizer_files.tokenizer_model = kTokenizerJson;
  options.append_eod = true;
  const me::IngestSummary summary = me::ingest(options);

  const auto tokenizer =
      me::TokenizerRegistry::instance().create("HuggingFaceTokenizer", options.tokenizer_files);
  const auto store = me::TokenStore::open(dir / "out.h5");
  REQUIRE(store->num_documents() == 5);
  int64_t total = 0;
  for (size_t d = 0; d < texts.size(); ++d) {
    std::vector<int32_t> expected = tokenizer->encode(texts[d]);
    if (!expected.empty()) expected.push_back(tokenizer->eod_id());
    CHECK(store->document(int64_t(d)) == expected);
    total += int64_t(expected.size());
  }
  CHECK(store->document(2).empty());  // an empty text stays an empty document, without eod
  CHECK(summary.documents == 5);
  CHECK(summary.tokens == total);
  CHECK(store->num_tokens() == total);
  CHECK(summary.input_bytes == int64_t(std::filesystem::file_size(dir / "in.jsonl")));

  const me::TokenStoreMeta& meta = store->meta();
  CHECK(meta.tokenizer_type == "HuggingFaceTokenizer");
  CHECK(meta.tokenizer_sha256 == me::sha256_file(kTokenizerJson));
  CHECK(meta.vocab_size == 700);
  CHECK(meta.eod_id == tokenizer->eod_id());
  REQUIRE(meta.sources.size() == 1);
  CHECK(meta.sources[0].path == std::filesystem::absolute(dir / "in.jsonl").string());
  CHECK(meta.sources[0].bytes == summary.input_bytes);
  CHECK(meta.sources[0].sha256 == me::sha256_file(dir / "in.jsonl"));
}

TEST_CASE("plain text: '%' lines separate documents; without a separator a file is one") {
  TempDir dir;
  write_text(dir / "fortunes", "first\nline\n%\nsecond\n%\n%\nthird");
  write_text(dir / "whole.txt", "one\n\ndocument\n");
  auto options = byte_options({dir / "fortunes"}, dir / "f.h5");
  options.text_document_separator = "%";
  options.append_eod = true;
  me::ingest(options);
  const auto store = me::TokenStore::open(dir / "f.h5");
  REQUIRE(store->num_documents() == 3);
  const auto with_eod = [](std::vector<int32_t> ids) {
    ids.push_back(me::ByteTokenizer::kEodId);
    return ids;
  };
  CHECK(store->document(0) == with_eod(bytes_of("first\nline\n")));
  CHECK(store->document(1) == with_eod(bytes_of("second\n")));
  CHECK(store->document(2) == with_eod(bytes_of("third")));
  CHECK(store->meta().eod_id == 256);
  CHECK(store->meta().vocab_size == 257);

  me::ingest(byte_options({dir / "whole.txt", dir / "fortunes"}, dir / "w.h5"));
  const auto whole = me::TokenStore::open(dir / "w.h5");
  REQUIRE(whole->num_documents() == 2);
  CHECK(whole->document(0) == bytes_of("one\n\ndocument\n"));
  CHECK(whole->document(1) == bytes_of("first\nline\n%\nsecond\n%\n%\nthird"));
  CHECK(whole->meta().sources.size() == 2);

  options = byte_options({dir / "whole.txt"}, dir / "p.h5");
  options.text_document_separator = "";
  me::ingest(options);
  const auto paragraphs = me::TokenStore::open(dir / "p.h5");
  REQUIRE(paragraphs->num_documents() == 2);
  CHECK(paragraphs->document(0) == bytes_of("one\n"));
  CHECK(paragraphs->document(1) == bytes_of("document\n"));
}

TEST_CASE("workers 1 and 3 write identical tokens and offsets") {
  TempDir dir;
  write_text(dir / "in.jsonl", varied_jsonl(3000));
  me::IngestOptions options;
  options.inputs = {dir / "in.jsonl"};
  options.tokenizer_type = "HuggingFaceTokenizer";
  options.tokenizer_files.tokenizer_model = kTokenizerJson;
  options.append_eod = true;
  options.output = dir / "one.h5";
  options.workers = 1;
  me::ingest(options);
  options.output = dir / "three.h5";
  options.workers = 3;
  me::ingest(options);
  const auto one = me::TokenStore::open(dir / "one.h5");
  const auto three = me::TokenStore::open(dir / "three.h5");
  REQUIRE(one->num_documents() == 3000);
  CHECK(one->document_offsets() == three->document_offsets());
  REQUIRE(one->num_tokens() == three->num_tokens());
  std::vector<int32_t> a(size_t(one->num_tokens())), b(a.size());
  one->read_tokens(0, one->num_tokens(), a.data());
  three->read_tokens(0, three->num_tokens(), b.data());
  CHECK(a == b);
  const auto tokenizer =
      me::TokenizerRegistry::instance().create("HuggingFaceTokenizer", options.tokenizer_files);
  CHECK(one->document(2999).back() == tokenizer->eod_id());
}

TEST_CASE("a bad JSON line names file:line and leaves no output, nor clobbers an old one") {
  TempDir dir;
  const auto check_bad = [&](const std::string& line, const std::string& reason) {
    write_text(dir / "bad.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"fine\"}\n" + line + "\n");
    const std::string message = ingest_error(byte_options({dir / "bad.jsonl"}, dir / "out.h5"));
    CHECK_MESSAGE(message.find(dir / "bad.jsonl" + ":3: error: " + reason) != std::string::npos,
                  message);
    CHECK(!std::filesystem::exists(dir / "out.h5"));
    CHECK(stray_files(dir, {"bad.jsonl"}).empty());
  };
  check_bad("{\"text\": \"unterminated}", "malformed JSON");
  check_bad("{\"body\": \"no text key\"}", "no key 'text'");
  check_bad("{\"text\": 17}", "the value of 'text' is of type number, expected a string");
  check_bad("[\"text\"]", "expected a JSON object, got array");
  check_bad("{\"text\": \"caf\xE9\"}", "invalid UTF-8 (byte 0xE9 at column 14)");

  write_text(dir / "good.jsonl", "{\"text\": \"keep me\"}\n");
  me::ingest(byte_options({dir / "good.jsonl"}, dir / "kept.h5"));
  const std::string before = me::sha256_file(dir / "kept.h5");
  write_text(dir / "bad.jsonl", "{\"text\": \"ok\"}\nnot json\n");
  const std::string message = ingest_error(byte_options({dir / "bad.jsonl"}, dir / "kept.h5"));
  CHECK(message.find(dir / "bad.jsonl" + ":2: error: malformed JSON") != std::string::npos);
  CHECK(me::sha256_file(dir / "kept.h5") == before);
  CHECK(me::TokenStore::open(dir / "kept.h5")->document(0) == bytes_of("keep me"));
  CHECK(stray_files(dir, {"bad.jsonl", "good.jsonl", "kept.h5"}).empty());
}

TEST_CASE("--skip-bad-lines skips and counts bad lines and reports the first ones") {
  TempDir dir;
  std::string jsonl;
  for (int i = 1; i <= 10; ++i) {
    jsonl += (i == 2 || i == 5 || i == 9) ? "{broken\n" : fmt::format("{{\"text\": \"d{}\"}}\n", i);
  }
  write_text(dir / "in.jsonl", jsonl);
  auto options = byte_options({dir / "in.jsonl"}, dir / "out.h5");
  options.skip_bad_lines = true;
  options.workers = 2;
  const me::IngestSummary summary = me::ingest(options);
  CHECK(summary.bad_lines == 3);
  CHECK(summary.documents == 7);
  REQUIRE(summary.first_bad_lines.size() == 3);
  CHECK(summary.first_bad_lines[0].rfind(dir / "in.jsonl" + ":2: malformed JSON", 0) == 0);
  CHECK(summary.first_bad_lines[2].rfind(dir / "in.jsonl" + ":9: ", 0) == 0);
  const auto store = me::TokenStore::open(dir / "out.h5");
  REQUIRE(store->num_documents() == 7);
  CHECK(store->document(0) == bytes_of("d1"));
  CHECK(store->document(1) == bytes_of("d3"));
  CHECK(store->document(6) == bytes_of("d10"));
  const std::string text = me::format_summary(summary, dir / "out.h5");
  CHECK(text.find("bad lines  3 skipped") != std::string::npos);
  CHECK(text.find("documents  7") != std::string::npos);
}

TEST_CASE("empty and missing inputs and tokenizer files are named") {
  TempDir dir;
  write_text(dir / "empty.jsonl", "");
  write_text(dir / "blank.jsonl", "\n\n");
  write_text(dir / "one.jsonl", "{\"text\": \"x\"}\n");
  CHECK(ingest_error(byte_options({dir / "empty.jsonl"}, dir / "o.h5")) ==
        dir / "empty.jsonl" + ": error: input file is empty (no documents)");
  CHECK(ingest_error(byte_options({dir / "blank.jsonl"}, dir / "o.h5")).find(dir / "blank.jsonl") !=
        std::string::npos);
  CHECK(ingest_error(byte_options({dir / "nope.jsonl"}, dir / "o.h5")) ==
        dir / "nope.jsonl" + ": error: input file not found");
  CHECK(!std::filesystem::exists(dir / "o.h5"));

  auto options = byte_options({dir / "empty.jsonl", dir / "one.jsonl"}, dir / "o.h5");
  options.skip_bad_lines = true;
  CHECK(me::ingest(options).documents == 1);

  options = byte_options({dir / "one.jsonl"}, dir / "t.h5");
  options.tokenizer_type = "GPT2BPETokenizer";
  options.tokenizer_files.vocab_file = dir / "vocab.json";
  options.tokenizer_files.merge_file = dir / "merges.txt";
  CHECK(ingest_error(options).find(dir / "vocab.json") != std::string::npos);
  options.tokenizer_type = "bytes";
  CHECK(ingest_error(options).find("did you mean 'byte'") != std::string::npos);
  CHECK(!std::filesystem::exists(dir / "t.h5"));
}

TEST_CASE("long text documents tokenized in pieces equal whole-document tokens for every kind") {
  TempDir dir;
  const std::string data = ME_TEST_DATA_DIR;
  const std::string fragments[] = {"Plain ASCII prose, with punctuation. ",
                                   "café naïve Ångström ",
                                   "日本語のテキスト。中文\n",
                                   "👍🏽 🎉! ",
                                   "  \t\t   \n\n\r\n ",
                                   "12345678 3.14159 2026-11-25\n",
                                   "def f(x):\n    return x**2  # it's\n",
                                   "don't I'LL we've ",
                                   "foo.\n",
                                   "\xE3\x80\x80ideo ",
                                   "\xC2\xA0nbsp ",
                                   "bad \xFF\xC3( bytes "};
  std::string doc_a, doc_b;
  for (int i = 0; i < 400; ++i) doc_a += fragments[(i * 7 + i / 5) % 12];
  for (int i = 0; i < 150; ++i) doc_b += fragments[(i * 5 + 3) % 12];
  doc_a += "end\n";  // the separator line below must be a line of its own
  write_text(dir / "one.txt", doc_a);
  write_text(dir / "two.txt", doc_a + "%\n" + doc_b);

  struct Kind {
    std::string type;
    me::TokenizerFiles files;
  };
  std::vector<Kind> kinds = {
      {"byte", {}},
      {"GPT2BPETokenizer", {data + "/tokenizer/vocab.json", data + "/tokenizer/merges.txt", {}}},
      {"HuggingFaceTokenizer", {{}, {}, data + "/tokenizer/tokenizer.json"}},
      {"HuggingFaceTokenizer", {{}, {}, data + "/llama3_tokenizer/tokenizer.json"}},
      {"TikTokenizer", {{}, {}, data + "/tiktoken/tiny.tiktoken"}},
      {"Llama2Tokenizer", {{}, {}, data + "/sentencepiece/tiny_llama.model"}}};
  for (const auto& kind : kinds) {
    const auto tokenizer = me::TokenizerRegistry::instance().create(kind.type, kind.files);
    std::vector<int32_t> a = tokenizer->encode(doc_a), b = tokenizer->encode(doc_b);
    a.push_back(tokenizer->eod_id());
    b.push_back(tokenizer->eod_id());
    for (int workers : {1, 4}) {
      CAPTURE(kind.type);
      CAPTURE(workers);
      me::IngestOptions options = byte_options({dir / "one.txt", dir / "two.txt"}, dir / "o.h5");
      options.tokenizer_type = kind.type;
      options.tokenizer_files = kind.files;
      options.text_document_separator.emplace(1, '%');  // = "%" trips GCC 12's false -Wrestrict
      options.append_eod = true;
      options.workers = workers;
      options.piece_bytes = 48;  // doc_a (~14 KB) is cut hundreds of times
      const me::IngestSummary summary = me::ingest(options);
      CHECK(summary.documents == 3);
      const auto store = me::TokenStore::open(dir / "o.h5");
      REQUIRE(store->num_documents() == 3);
      CHECK(store->document(0) == a);
      CHECK(store->document(1) == a);
      CHECK(store->document(2) == b);
      CHECK(summary.tokens == int64_t(2 * a.size() + b.size()));
    }
  }
}

TEST_CASE("JSON lines too long to hold are streamed and give the same store, bad ones skipped") {
  TempDir dir;
  const std::string data = ME_TEST_DATA_DIR;
  std::string jsonl;
  for (int d = 0; d < 40; ++d) {
    std::string text;
    for (int w = 0; w < 5 + (d * 37) % 200; ++w) {
      // Appended one at a time: a chained std::string + trips GCC 12's false -Wrestrict.
      text += w % 9 == 8 ? "\n" : " ";
      text += "wörd";
      text += std::to_string(w * d);
      text += "'s 日本 👍";
    }
    jsonl += nlohmann::json{{"id", d}, {"text", text}, {"tail", {1, 2.5, nullptr}}}.dump() + "\n";
    if (d == 17) {  // line 19: bad after pieces of its text went out (they must be discarded)
      std::string words;
      for (int w = 0; w < 100; ++w) words += "xx ";
      jsonl += "{\"text\": \"" + words + "broken\", }\n";
    }
  }
  write_text(dir / "in.jsonl", jsonl);
  for (const char* model : {"/tokenizer/tokenizer.json", "/llama3_tokenizer/tokenizer.json"}) {
    me::IngestOptions options = byte_options({dir / "in.jsonl"}, dir / "whole.h5");
    options.tokenizer_type = "HuggingFaceTokenizer";
    options.tokenizer_files.tokenizer_model = data + model;
    options.append_eod = true;
    options.skip_bad_lines = true;
    const me::IngestSummary whole = me::ingest(options);
    CHECK(whole.bad_lines == 1);
    for (int workers : {1, 4}) {
      CAPTURE(model);
      CAPTURE(workers);
      options.output = dir / "streamed.h5";
      options.workers = workers;
      options.huge_line_bytes = 100;  // nearly every line is streamed, in 48-byte pieces
      options.piece_bytes = 48;
      const me::IngestSummary streamed = me::ingest(options);
      CHECK(streamed.bad_lines == 1);
      REQUIRE(streamed.first_bad_lines.size() == 1);
      CHECK(streamed.first_bad_lines[0].find("in.jsonl:19: malformed JSON") != std::string::npos);
      CHECK(streamed.tokens == whole.tokens);
      const auto a = me::TokenStore::open(dir / "whole.h5");
      const auto b = me::TokenStore::open(dir / "streamed.h5");
      REQUIRE(a->num_documents() == 40);
      CHECK(a->document_offsets() == b->document_offsets());
      for (int64_t d = 0; d < 40; ++d) CHECK(a->document(d) == b->document(d));
      options.huge_line_bytes = size_t{16} << 20;
      options.piece_bytes = size_t{1} << 20;
    }
    options.skip_bad_lines = false;
    options.huge_line_bytes = 100;
    options.output = dir / "failed.h5";
    CHECK(ingest_error(options).find("in.jsonl:19: error: malformed JSON") != std::string::npos);
    CHECK(!std::filesystem::exists(dir / "failed.h5"));
  }
}
