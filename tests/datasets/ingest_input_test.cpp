// InputReader: plain-text documents come out in pieces cut at the tokenizer's cut points, whose
// bytes, flags and line numbers add up to the documents; lines longer than the read block too.
#include <doctest/doctest.h>

#include <algorithm>

#include "datasets/byte_tokenizer.h"
#include "datasets/ingest_input.h"
#include "datasets/tokenizer.h"
#include "tests/support/process.h"

using me::testing::TempDir;
using me::testing::write_text;

namespace {

struct Document {
  std::string text;
  int64_t line = 0;
  size_t pieces = 0;
};

// The documents read through `reader`, each reassembled from its pieces, checking on the way
// that each piece starts on the line reported.
std::vector<Document> read_all(me::InputReader& reader, const std::string& file_text,
                               size_t& largest_piece) {
  std::vector<Document> docs;
  me::RawDocument piece;
  bool open = false;
  size_t offset = 0;  // of the piece in file_text, found by search: separators are dropped
  largest_piece = 0;
  while (reader.next(piece)) {
    CHECK(piece.first == !open);
    if (piece.first) docs.push_back({"", piece.line, 0});
    docs.back().text += piece.bytes;
    ++docs.back().pieces;
    offset = file_text.find(piece.bytes, offset);
    REQUIRE(offset != std::string::npos);
    const auto line = 1 + std::count(file_text.begin(), file_text.begin() + offset, '\n');
    CHECK(piece.line == line);
    offset += piece.bytes.size();
    largest_piece = std::max(largest_piece, piece.bytes.size());
    open = !piece.last;
  }
  CHECK(!open);
  return docs;
}

std::string prose(size_t words) {
  const char* vocabulary[] = {"alpha", "naïve", "日本語", "42", "don't", "👍", "x**2;", "\t"};
  std::string text;
  for (size_t w = 0; w < words; ++w) {
    text += vocabulary[(w * 5 + w / 7) % 8];
    text += w % 11 == 10 ? "\n" : " ";
  }
  return text;
}

}  // namespace

TEST_CASE("a long text document is handed out in pieces at cut points") {
  TempDir dir;
  const std::string text = prose(3000);
  write_text(dir / "doc.txt", text);
  const auto gpt2 = me::TokenizerRegistry::instance().create(
      "HuggingFaceTokenizer",
      {std::nullopt, std::nullopt, std::string(ME_TEST_DATA_DIR) + "/tokenizer/tokenizer.json"});
  me::InputReader reader(dir / "doc.txt", std::nullopt);
  reader.cut_text(100, dynamic_cast<const me::PiecewiseEncoder*>(gpt2.get()));
  size_t largest = 0;
  const auto docs = read_all(reader, text, largest);
  REQUIRE(docs.size() == 1);
  CHECK(docs[0].text == text);
  CHECK(docs[0].line == 1);
  CHECK(docs[0].pieces > 100);
  CHECK(largest < 200);  // a line (at most ~70 bytes here) past the piece size
}

TEST_CASE("separated documents are cut separately and keep their own first lines") {
  TempDir dir;
  const std::string first = prose(396), second = "short\n", third = prose(250);
  const std::string text = first + "%\n" + second + "%\n%\n" + third;
  write_text(dir / "docs.txt", text);
  me::ByteTokenizer bytes;
  me::InputReader reader(dir / "docs.txt", std::string("%"));
  reader.cut_text(64, &bytes);
  size_t largest = 0;
  const auto docs = read_all(reader, text, largest);
  REQUIRE(docs.size() == 3);
  CHECK(docs[0].text == first);
  CHECK(docs[1].text == second);
  CHECK(docs[1].pieces == 1);
  CHECK(docs[2].text == third);
  CHECK(docs[2].line == 1 + std::count(text.begin(), text.end() - long(third.size()), '\n'));
  CHECK(docs[0].pieces > 20);
}

TEST_CASE("a line longer than the read block is read in parts and cut") {
  TempDir dir;
  std::string text;
  while (text.size() < (size_t{5} << 20)) text += "word ";
  text += "\nend";
  write_text(dir / "line.txt", text);
  const auto gpt2 = me::TokenizerRegistry::instance().create(
      "HuggingFaceTokenizer",
      {std::nullopt, std::nullopt, std::string(ME_TEST_DATA_DIR) + "/tokenizer/tokenizer.json"});
  me::InputReader reader(dir / "line.txt", std::nullopt);
  reader.cut_text(4096, dynamic_cast<const me::PiecewiseEncoder*>(gpt2.get()));
  size_t largest = 0;
  const auto docs = read_all(reader, text, largest);
  REQUIRE(docs.size() == 1);
  CHECK(docs[0].text == text);
  CHECK(largest <= (size_t{1} << 20) + 4096);  // one read block past the piece size at most
  CHECK(reader.bytes_read() == int64_t(text.size()));
}

TEST_CASE("a JSON line longer than the limit comes out as text pieces, a bad one as an error") {
  TempDir dir;
  std::string words;
  for (int w = 0; w < 100; ++w) words += "xx\\u00e9 ";
  write_text(dir / "in.jsonl", "{\"text\": \"short\"}\n{\"id\": 1, \"text\": \"" + words +
                                   "end\"}\n{\"text\": \"" + words + "broken\", }\n");
  const auto gpt2 = me::TokenizerRegistry::instance().create(
      "HuggingFaceTokenizer",
      {std::nullopt, std::nullopt, std::string(ME_TEST_DATA_DIR) + "/tokenizer/tokenizer.json"});
  me::InputReader reader(dir / "in.jsonl", std::nullopt);
  reader.cut_text(48, dynamic_cast<const me::PiecewiseEncoder*>(gpt2.get()), 100, "text");
  std::vector<me::RawDocument> pieces;
  for (me::RawDocument doc; reader.next(doc);) pieces.push_back(doc);
  REQUIRE(pieces.size() > 6);
  CHECK(!pieces[0].text_ready);  // short lines stay JSON for the workers to parse
  CHECK(pieces[0].bytes == "{\"text\": \"short\"}");
  std::string second;
  size_t i = 1;
  for (; i < pieces.size() && second.size() < 600; ++i) {
    CHECK(pieces[i].text_ready);
    CHECK(pieces[i].line == 2);
    CHECK(pieces[i].first == (i == 1));
    second += pieces[i].bytes;
    if (pieces[i].last) break;
  }
  std::string expected;
  for (int w = 0; w < 100; ++w) expected += "xx\u00e9 ";
  CHECK(second == expected + "end");
  const me::RawDocument& bad = pieces.back();
  CHECK(bad.line == 3);
  CHECK(bad.last);
  CHECK(!bad.first);  // pieces of line 3 went out before its end showed it bad
  CHECK(bad.error.find("malformed JSON") != std::string::npos);
}
