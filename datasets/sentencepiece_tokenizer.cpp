// SentencePiece tokenizers: model loading (from bytes, so the digest is of what was loaded), the
// plain encoding, and the special-token scan of Megatron's _SentencePieceTokenizer. Built only
// when CMake finds libsentencepiece-dev (ME_WITH_SENTENCEPIECE); otherwise the names are unknown.
#ifdef ME_WITH_SENTENCEPIECE
#include "datasets/sentencepiece_tokenizer.h"

#include <fmt/format.h>
#include <sentencepiece_processor.h>

#include <algorithm>

#include "datasets/tokenizer_files.h"
#include "engine/core/error.h"

namespace me {

SentencePieceBase::SentencePieceBase(const TokenizerFiles& files, const std::string& type)
    : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  path_ = require_tokenizer_file(files.tokenizer_model, type, "--tokenizer-model");
  const std::string bytes = read_tokenizer_file(path_, "SentencePiece model");
  const auto status = sp_->LoadFromSerializedProto(bytes);
  if (!status.ok()) {
    throw Error(fmt::format("not a SentencePiece model: {}", status.ToString()), path_);
  }
  files_sha256_ = tokenizer_contents_sha256({bytes});
}

SentencePieceBase::~SentencePieceBase() = default;

int32_t SentencePieceBase::bos_id() const { return sp_->bos_id(); }
int32_t SentencePieceBase::eos_id() const { return sp_->eos_id(); }
int64_t SentencePieceBase::piece_size() const { return sp_->GetPieceSize(); }

std::vector<int32_t> SentencePieceBase::encode_plain(std::string_view text) const {
  std::vector<int> ids;
  const auto status = sp_->Encode(text, &ids);
  if (!status.ok()) throw Error(fmt::format("cannot encode: {}", status.ToString()), path_);
  return {ids.begin(), ids.end()};
}

std::string SentencePieceBase::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  std::vector<int> run;
  auto flush = [&] {
    std::string text;
    const auto status = sp_->Decode(run, &text);
    if (!status.ok()) throw Error(fmt::format("cannot decode: {}", status.ToString()), path_);
    out += text;
    run.clear();
  };
  for (int32_t id : ids) {
    if (id >= 0 && id < piece_size()) {
      run.push_back(id);
      continue;
    }
    const auto it = std::find_if(specials_.begin(), specials_.end(),
                                 [&](const auto& s) { return s.second == id; });
    if (it == specials_.end()) {
      throw Error(fmt::format("token id {} is outside the vocabulary [0, {})", id, vocab_size()),
                  path_);
    }
    flush();
    out += it->first;
  }
  flush();
  return out;
}

GPTSentencePieceTokenizer::GPTSentencePieceTokenizer(const TokenizerFiles& files)
    : SentencePieceBase(files, "GPTSentencePieceTokenizer") {}

Llama2Tokenizer::Llama2Tokenizer(const TokenizerFiles& files)
    : SentencePieceBase(files, "Llama2Tokenizer") {
  if (bos_id() < 0 || eos_id() < 0) {
    throw Error("Llama2Tokenizer needs a model with BOS and EOS pieces", path_);
  }
}

std::vector<int32_t> Llama2Tokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids{bos_id()};
  const std::vector<int32_t> body = encode_plain(text);
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

SentencePieceTokenizer::SentencePieceTokenizer(const TokenizerFiles& files)
    : SentencePieceBase(files, "SentencePieceTokenizer") {
  vocab_size_ = piece_size();
  auto add = [&](const std::string& token) {
    int32_t id = sp_->PieceToId(token);
    // PieceToId answers unk for an unknown piece, so check the piece really is that token.
    if (id < 0 || sp_->IdToPiece(id) != token) id = static_cast<int32_t>(vocab_size_++);
    specials_.emplace_back(token, id);
    return id;
  };
  for (const char* token : {"<CLS>", "<SEP>"}) add(token);
  eod_id_ = add("<EOD>");
  add("<MASK>");
  const std::pair<int, const char*> model_specials[] = {
      {sp_->pad_id(), "<PAD>"}, {sp_->bos_id(), "<BOS>"}, {sp_->eos_id(), "<EOS>"}};
  for (const auto& [id, fallback] : model_specials) {
    add(id >= 0 && id < piece_size() ? sp_->IdToPiece(id) : std::string(fallback));
  }
}

std::vector<int32_t> SentencePieceTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  size_t at = 0;
  while (true) {
    size_t best = std::string_view::npos;
    const std::pair<std::string, int32_t>* hit = nullptr;
    for (const auto& special : specials_) {  // insertion order breaks ties, as Python's min()
      const size_t found = text.find(special.first, at);
      if (found < best) {
        best = found;
        hit = &special;
      }
    }
    if (!hit) break;
    const std::vector<int32_t> before = encode_plain(text.substr(at, best - at));
    ids.insert(ids.end(), before.begin(), before.end());
    ids.push_back(hit->second);
    at = best + hit->first.size();
  }
  const std::vector<int32_t> rest = encode_plain(text.substr(at));
  ids.insert(ids.end(), rest.begin(), rest.end());
  return ids;
}

}  // namespace me

ME_REGISTER(me::TokenizerRegistry, "GPTSentencePieceTokenizer", me::GPTSentencePieceTokenizer);
ME_REGISTER(me::TokenizerRegistry, "Llama2Tokenizer", me::Llama2Tokenizer);
ME_REGISTER(me::TokenizerRegistry, "SentencePieceTokenizer", me::SentencePieceTokenizer);

#endif  // ME_WITH_SENTENCEPIECE
