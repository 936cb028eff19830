// Piecewise encoding: for every tokenizer that offers it, cutting a varied text at any of its cut
// points (and at all of them at once) gives exactly the ids of encoding the text whole; places the
// rules refuse really do change the pre-tokens.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "datasets/gpt2_pretokenizer.h"
#include "datasets/piecewise_encoder.h"
#include "datasets/pretoken_cuts.h"
#include "datasets/tiktoken_pretokenizer.h"
#include "datasets/tokenizer.h"
#include "tests/support/process.h"

using me::testing::TempDir;
using me::testing::write_text;

namespace {

const std::string kData = std::string(ME_TEST_DATA_DIR);

std::unique_ptr<me::Tokenizer> make(const std::string& type, me::TokenizerFiles files = {}) {
  return me::TokenizerRegistry::instance().create(type, files);
}

me::TokenizerFiles model(const std::string& path) {
  me::TokenizerFiles files;
  files.tokenizer_model = path;
  return files;
}

// The GPT-2 fixture's tokenizer.json with ByteLevel's add_prefix_space switched on.
std::string prefix_space_tokenizer(const TempDir& dir) {
  std::ifstream in(kData + "/tokenizer/tokenizer.json");
  nlohmann::json root = nlohmann::json::parse(in);
  root["pre_tokenizer"]["add_prefix_space"] = true;
  const std::string path = dir / "prefix_space.json";
  write_text(path, root.dump());
  return path;
}

// Every tokenizer kind that encodes in pieces, by a readable name.
std::vector<std::pair<std::string, std::unique_ptr<me::Tokenizer>>> piecewise_tokenizers(
    const TempDir& dir) {
  std::vector<std::pair<std::string, std::unique_ptr<me::Tokenizer>>> all;
  me::TokenizerFiles gpt2;
  gpt2.vocab_file = kData + "/tokenizer/vocab.json";
  gpt2.merge_file = kData + "/tokenizer/merges.txt";
  all.emplace_back("byte", make("byte"));
  all.emplace_back("GPT2BPETokenizer", make("GPT2BPETokenizer", gpt2));
  all.emplace_back("HF GPT-2",
                   make("HuggingFaceTokenizer", model(kData + "/tokenizer/tokenizer.json")));
  all.emplace_back("HF GPT-2 add_prefix_space",
                   make("HuggingFaceTokenizer", model(prefix_space_tokenizer(dir))));
  all.emplace_back("HF Llama-3",
                   make("HuggingFaceTokenizer", model(kData + "/llama3_tokenizer/tokenizer.json")));
  all.emplace_back("TikTokenizer", make("TikTokenizer", model(kData + "/tiktoken/tiny.tiktoken")));
  return all;
}

// Fragments that stress the regexes: contractions, digit runs, whitespace runs of every kind
// (CR/LF, tab, NBSP U+00A0, NEL U+0085, ideographic space U+3000), accents, CJK, emoji, code,
// punctuation before newlines, added tokens and ill-formed UTF-8.
const std::vector<std::string> kFragments = {"Hello, world! ",
                                             "don't ",
                                             "I'LL ",
                                             "we've",
                                             "'s",
                                             "12345678",
                                             " 3.14159",
                                             "2026-11-25\n",
                                             "café naïve Ångström ",
                                             "日本語のテキスト。",
                                             "中文\n",
                                             "👍🏽 🎉!",
                                             "   ",
                                             "\t\t",
                                             "\n\n",
                                             "\r\n",
                                             " \n ",
                                             "\xC2\xA0",
                                             "\xC2\x85",
                                             "\xE3\x80\x80",
                                             "def f(x):\n    return x**2  # it's\n",
                                             "foo.\n",
                                             "a;\r\nb",
                                             "<|endoftext|>",
                                             "<|begin_of_text|>",
                                             "\xFF",
                                             "\xC3(",
                                             "\xE6\x97",
                                             "x",
                                             "ſ",
                                             " ",
                                             "...",
                                             "\"quoted\" ",
                                             "tab\there"};

std::string random_text(std::mt19937& rng, size_t fragments) {
  std::uniform_int_distribution<size_t> pick(0, kFragments.size() - 1);
  std::string text;
  for (size_t i = 0; i < fragments; ++i) text += kFragments[pick(rng)];
  return text;
}

std::vector<int32_t> encode_cut(const me::PiecewiseEncoder& encoder, std::string_view text,
                                const std::vector<size_t>& cuts) {
  std::vector<int32_t> ids;
  size_t begin = 0;
  for (size_t i = 0; i <= cuts.size(); ++i) {
    const size_t end = i < cuts.size() ? cuts[i] : text.size();
    encoder.encode_part(text.substr(begin, end - begin), i == 0, i == cuts.size(), ids);
    begin = end;
  }
  return ids;
}

// Every cut point of text, ascending: the last one of each prefix.
std::vector<size_t> all_cuts(const me::PiecewiseEncoder& encoder, std::string_view text) {
  std::set<size_t> cuts;
  for (size_t end = 1; end <= text.size(); ++end) {
    if (const size_t p = encoder.cut_point(text.substr(0, end), 0)) cuts.insert(p);
  }
  return {cuts.begin(), cuts.end()};
}

}  // namespace

TEST_CASE("every cut point leaves the ids of every piecewise tokenizer unchanged") {
  TempDir dir;
  for (const auto& [name, tokenizer] : piecewise_tokenizers(dir)) {
    CAPTURE(name);
    const auto* encoder = dynamic_cast<const me::PiecewiseEncoder*>(tokenizer.get());
    REQUIRE(encoder != nullptr);
    std::mt19937 rng(7);
    size_t cuts_checked = 0;
    for (int trial = 0; trial < 40; ++trial) {
      const std::string text = random_text(rng, 60);
      const std::vector<int32_t> whole = tokenizer->encode(text);
      const std::vector<size_t> cuts = all_cuts(*encoder, text);
      CHECK(encode_cut(*encoder, text, cuts) == whole);  // all cuts at once
      for (size_t p : cuts) {
        CAPTURE(p);
        CHECK(encode_cut(*encoder, text, {p}) == whole);
      }
      cuts_checked += cuts.size();
    }
    CHECK(cuts_checked > 400);  // the rule cuts often enough to matter
  }
}

TEST_CASE("cut_point searches only from its lower bound and needs text after the cut") {
  const auto tokenizer = make("HuggingFaceTokenizer", model(kData + "/tokenizer/tokenizer.json"));
  const auto& encoder = dynamic_cast<const me::PiecewiseEncoder&>(*tokenizer);
  // "<|endoftext|>" is 13 bytes: a cut keeps 13 + 4 bytes before the end of the text.
  const std::string text = "one two three four five six seven eight nine ten";
  const size_t p = encoder.cut_point(text, 0);
  CHECK(p == text.rfind(' ', text.size() - 18));
  CHECK(encoder.cut_point(text, p + 1) == 0);
  CHECK(encoder.cut_point("word", 0) == 0);
  // An added token within 4 bytes of a space takes that cut away.
  const std::string near = "alpha beta<|endoftext|> gamma delta epsilon zeta eta theta";
  const std::vector<size_t> cuts = all_cuts(encoder, near);
  CHECK(cuts.front() == 5);
  CHECK(cuts.at(1) == 29);  // not 23, next to the added token
}

TEST_CASE("positions the rules refuse do change the pre-tokens") {
  using Pretokenize = void (*)(std::string_view, std::vector<std::string_view>&);
  const auto pieces = [](Pretokenize f, std::string_view text) {
    std::vector<std::string_view> views;
    f(text, views);
    return std::vector<std::string>(views.begin(), views.end());
  };
  struct Hazard {
    me::PretokenRule rule;
    std::string text;
    size_t at;
  };
  const std::vector<Hazard> hazards = {
      // ".\n" is one Llama-3 pre-token (` ?[^\s\p{L}\p{N}]+[\r\n]*`).
      {me::PretokenRule::kLlama3, "end.\nnext", 4},
      // Digit groups of three count from the run's start: 123|45, not 123|4|5.
      {me::PretokenRule::kLlama3, "12345", 4},
      // `\s*[\r\n]+` takes a whitespace run up to its last newline.
      {me::PretokenRule::kLlama3, "a \n \nb", 3},
      // `\s+(?!\S)` leaves the last space to the word: "a", "  ", " b".
      {me::PretokenRule::kGpt2, "a   b", 2},
      // A contraction: "don" "'t", not "don" "'" "t".
      {me::PretokenRule::kGpt2, "don't", 4},
  };
  for (const auto& h : hazards) {
    CAPTURE(h.text);
    const Pretokenize f =
        h.rule == me::PretokenRule::kLlama3 ? me::tiktoken_pretokenize : me::gpt2_pretokenize;
    std::vector<std::string> cut = pieces(f, std::string_view(h.text).substr(0, h.at));
    for (auto& piece : pieces(f, std::string_view(h.text).substr(h.at))) cut.push_back(piece);
    CHECK(cut != pieces(f, h.text));
    CHECK(me::last_pretoken_cut(h.text, h.at, h.at + 1, h.rule) == 0);
  }
  // The Llama-3 exception is narrow: after a letter a newline is a cut; GPT-2 has none.
  CHECK(me::last_pretoken_cut("end\nnext", 0, 8, me::PretokenRule::kLlama3) == 3);
  CHECK(me::last_pretoken_cut("end.\nnext", 0, 9, me::PretokenRule::kGpt2) == 4);
  // U+3000 after CJK letters is a cut; a multi-byte space before a cut is not a non-space.
  CHECK(me::last_pretoken_cut("中文\xE3\x80\x80x", 0, 12, me::PretokenRule::kGpt2) == 6);
  CHECK(me::last_pretoken_cut("x\xC2\xA0 y", 0, 5, me::PretokenRule::kGpt2) == 1);
}

TEST_CASE("SentencePiece tokenizers are not cut") {
  for (const char* type :
       {"Llama2Tokenizer", "GPTSentencePieceTokenizer", "SentencePieceTokenizer"}) {
    const auto tokenizer = make(type, model(kData + "/sentencepiece/tiny_llama.model"));
    CHECK(dynamic_cast<const me::PiecewiseEncoder*>(tokenizer.get()) == nullptr);
  }
}
