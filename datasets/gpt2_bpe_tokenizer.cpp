// GPT2BPETokenizer (Megatron's name): GPT-2 byte-level BPE from vocab.json + merges.txt.
// "<|endoftext|>" is the end-of-document id and, as in transformers' GPT2Tokenizer, is matched as
// one special token inside text (Megatron's raw GPT-2 encoder would split it into pieces).
#include <fmt/format.h>

#include "datasets/bpe_tokenizer.h"
#include "datasets/tokenizer_files.h"
#include "engine/core/error.h"

namespace me {
namespace {

constexpr const char* kType = "GPT2BPETokenizer";
constexpr const char* kEndOfText = "<|endoftext|>";

void read_vocab_json(const std::string& path, const std::string& text, BpeModel& model) {
  const nlohmann::json vocab = parse_tokenizer_json(text, path);
  if (!vocab.is_object()) throw Error("expected a JSON object mapping tokens to ids", path);
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer()) {
      throw Error(fmt::format("the id of token '{}' is {}, expected an integer", token, id.dump()),
                  path);
    }
    model.vocab.emplace(token, id.get<int32_t>());
  }
  model.vocab_where = path;
}

// One merge per line, "left right"; a first line "#version ..." and blank lines are skipped.
void read_merges_txt(const std::string& path, const std::string& text, BpeModel& model) {
  size_t line_number = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || (line_number == 1 && line.starts_with("#version"))) continue;
    const size_t space = line.find(' ');
    const std::string where = fmt::format("{}:{}", path, line_number);
    if (space == 0 || space == std::string_view::npos || space + 1 == line.size() ||
        line.find(' ', space + 1) != std::string_view::npos) {
      throw Error(fmt::format("expected two tokens separated by one space, got '{}'", line), where);
    }
    model.merges.push_back(
        {std::string(line.substr(0, space)), std::string(line.substr(space + 1)), where});
  }
}

BpeModel load_gpt2_files(const TokenizerFiles& files) {
  const std::string& vocab_path = require_tokenizer_file(files.vocab_file, kType, "--vocab-file");
  const std::string& merges_path = require_tokenizer_file(files.merge_file, kType, "--merge-file");
  const std::string vocab_text = read_tokenizer_file(vocab_path, "vocab file");
  const std::string merges_text = read_tokenizer_file(merges_path, "merge file");
  BpeModel model;
  read_vocab_json(vocab_path, vocab_text, model);
  read_merges_txt(merges_path, merges_text, model);
  auto eod = model.vocab.find(kEndOfText);
  if (eod == model.vocab.end()) {
    throw Error(
        fmt::format("no '{}' token, which GPT2BPETokenizer uses as end of document", kEndOfText),
        vocab_path);
  }
  model.eod_id = eod->second;
  model.added_tokens.push_back({kEndOfText, eod->second});
  model.files_sha256 = tokenizer_contents_sha256({vocab_text, merges_text});
  return model;
}

}  // namespace

class Gpt2BpeTokenizer final : public BpeTokenizer {
 public:
  explicit Gpt2BpeTokenizer(const TokenizerFiles& files)
      : BpeTokenizer(load_gpt2_files(files), kType) {}
};

}  // namespace me

ME_REGISTER(me::TokenizerRegistry, "GPT2BPETokenizer", me::Gpt2BpeTokenizer);
