// HuggingFaceTokenizer (Megatron's name) for byte-level BPE tokenizer.json files: GPT-2 style
// (ByteLevel pre-tokenizer) and Llama-3 style (its Split regex, special tokens, BOS template); the
// supported pipelines are in datasets/hugging_face_pipeline.h. Anything else is refused with an
// error naming the file and the JSON path of the unsupported part, rather than tokenized otherwise.
#include <fmt/format.h>

#include <filesystem>

#include "datasets/bpe_tokenizer.h"
#include "datasets/hugging_face_pipeline.h"
#include "datasets/tokenizer_files.h"
#include "engine/core/error.h"

namespace me {
namespace {

constexpr const char* kType = "HuggingFaceTokenizer";
constexpr const char* kEndOfText = "<|endoftext|>";

using nlohmann::json;

std::string type_of(const json& j) {
  return j.is_object() ? j.value("type", std::string("?")) : j.dump();
}

void check_supported(const json& root, const std::string& path) {
  const json& model = root.at("model");
  if (type_of(model) != "BPE") {
    throw Error(fmt::format("model.type '{}' is not supported; {} reads byte-level BPE models",
                            type_of(model), kType),
                path);
  }
  if (model.contains("dropout") && !model["dropout"].is_null()) {
    throw Error("model.dropout is not supported (tokenization would be random)", path);
  }
  if (model.value("byte_fallback", false)) {
    throw Error("model.byte_fallback true is not supported in byte-level BPE", path);
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(key) && !model[key].is_null() && model[key] != "") {
      throw Error(fmt::format("model.{} is not supported in byte-level BPE", key), path);
    }
  }
}

void read_model(const json& root, const std::string& path, BpeModel& model) {
  const json& bpe = root.at("model");
  model.vocab_where = path + ": model.vocab";
  for (const auto& [token, id] : bpe.at("vocab").items())
    model.vocab.emplace(token, id.get<int32_t>());
  const json& merges = bpe.at("merges");
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& m = merges[i];
    const std::string where = fmt::format("{}: model.merges[{}]", path, i);
    if (m.is_array() && m.size() == 2) {
      model.merges.push_back({m[0].get<std::string>(), m[1].get<std::string>(), where});
      continue;
    }
    const std::string text = m.is_string() ? m.get<std::string>() : "";
    const size_t space = text.find(' ');
    if (space == 0 || space == std::string::npos || space + 1 == text.size() ||
        text.find(' ', space + 1) != std::string::npos) {
      throw Error(fmt::format("expected \"left right\" or [left, right], got {}", m.dump()), where);
    }
    model.merges.push_back({text.substr(0, space), text.substr(space + 1), where});
  }
  model.ignore_merges = bpe.value("ignore_merges", false);

  const json added_tokens = root.value("added_tokens", json::array());
  for (size_t i = 0; i < added_tokens.size(); ++i) {
    const json& added = added_tokens[i];
    const std::string content = added.at("content").get<std::string>();
    for (const char* flag : {"lstrip", "rstrip", "single_word"}) {
      if (added.value(flag, false)) {
        throw Error(
            fmt::format("added_tokens[{}].{} (token '{}') is not supported", i, flag, content),
            path);
      }
    }
    model.added_tokens.push_back({content, added.at("id").get<int32_t>()});
  }
}

// eos_token of a tokenizer_config.json beside the file, if there is one.
std::optional<std::string> configured_eos(const std::string& path) {
  const auto config = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(config, ec)) return std::nullopt;
  const json j = parse_tokenizer_json(read_tokenizer_file(config.string(), "tokenizer config"),
                                      config.string());
  if (!j.contains("eos_token")) return std::nullopt;
  const json& eos = j["eos_token"];
  if (eos.is_string()) return eos.get<std::string>();
  if (eos.is_object() && eos.contains("content")) return eos["content"].get<std::string>();
  return std::nullopt;
}

// The end-of-document id: tokenizer_config.json's eos_token, else "<|endoftext|>", else the only
// special added token.
int32_t find_eod(const json& root, const BpeModel& model, const std::string& path) {
  const auto id_of = [&](const std::string& content) -> std::optional<int32_t> {
    for (const auto& added : model.added_tokens) {
      if (added.content == content) return added.id;
    }
    if (auto it = model.vocab.find(content); it != model.vocab.end()) return it->second;
    return std::nullopt;
  };
  if (auto eos = configured_eos(path)) {
    if (auto id = id_of(*eos)) return *id;
  }
  if (auto id = id_of(kEndOfText)) return *id;
  std::vector<int32_t> special;
  for (const json& added : root.value("added_tokens", json::array())) {
    if (added.value("special", false)) special.push_back(added.at("id").get<int32_t>());
  }
  if (special.size() == 1) return special[0];
  throw Error(fmt::format("cannot tell the end-of-document token: no '{}', no eos_token in a "
                          "tokenizer_config.json beside it, and {} special added tokens",
                          kEndOfText, special.size()),
              path);
}

BpeModel load_tokenizer_json(const TokenizerFiles& files) {
  const std::string& path =
      require_tokenizer_file(files.tokenizer_model, kType, "--tokenizer-model");
  const std::string text = read_tokenizer_file(path, "tokenizer.json");
  const json root = parse_tokenizer_json(text, path);
  BpeModel model;
  try {
    if (!root.is_object() || !root.contains("model")) {
      throw Error("expected a Hugging Face tokenizer.json (an object with a 'model')", path);
    }
    check_supported(root, path);
    read_hugging_face_pipeline(root, path, model);
    read_model(root, path, model);
    model.eod_id = find_eod(root, model, path);
  } catch (const json::exception& e) {
    throw Error(fmt::format("unexpected tokenizer.json structure: {}", e.what()), path);
  }
  model.files_sha256 = tokenizer_contents_sha256({text});
  return model;
}

}  // namespace

class HuggingFaceTokenizer final : public BpeTokenizer {
 public:
  explicit HuggingFaceTokenizer(const TokenizerFiles& files)
      : BpeTokenizer(load_tokenizer_json(files), kType) {}
};

}  // namespace me

ME_REGISTER(me::TokenizerRegistry, "HuggingFaceTokenizer", me::HuggingFaceTokenizer);
