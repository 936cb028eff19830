// Vocabulary resolution: the data files' tokenizer for training, the recipe's tokenizer (files or
// vocab_size) for planning.
#include "datasets/vocabulary.h"

#include <fmt/format.h>

#include <filesystem>
#include <optional>
#include <vector>

#include "datasets/blend.h"
#include "datasets/same_tokenizer.h"
#include "datasets/token_store.h"
#include "datasets/tokenizer.h"
#include "engine/core/error.h"
#include "datasets/padded_vocab.h"
#include "engine/recipe/recipe.h"

namespace me {
namespace {

// The data files' tokenizer, which all of them must share.
Vocabulary recorded_vocabulary(const Recipe& recipe) {
  Vocabulary v;
  std::string first_path;
  TokenStoreMeta first;
  for (const auto& path : data_files(recipe.data)) {
    const TokenStoreMeta meta = TokenStore::open(path)->meta();
    if (first_path.empty()) {
      first_path = path;
      first = meta;
      v.tokenizer_type = meta.tokenizer_type;
      v.tokenizer_sha256 = meta.tokenizer_sha256;
      v.vocab_size = meta.vocab_size;
    } else {
      require_same_tokenizer(first_path, first, path, meta, "data.data_path");
    }
  }
  if (v.tokenizer_type.empty()) {
    throw Error("data.data_path names no .h5 token dataset", "data.data_path");
  }
  if (recipe.tokenizer.tokenizer_type && *recipe.tokenizer.tokenizer_type != v.tokenizer_type) {
    throw Error(fmt::format("tokenizer_type is {} but the data was tokenized with {}",
                            *recipe.tokenizer.tokenizer_type, v.tokenizer_type),
                "tokenizer.tokenizer_type");
  }
  return v;
}

// The recipe's tokenizer files that are named but absent (relative paths from the working
// directory, as training and generate read them).
std::vector<std::string> missing_tokenizer_files(const TokenizerFiles& files) {
  std::vector<std::string> missing;
  for (const auto* path : {&files.vocab_file, &files.merge_file, &files.tokenizer_model}) {
    std::error_code ec;
    if (*path && !std::filesystem::exists(**path, ec)) missing.push_back(**path);
  }
  return missing;
}

// The vocabulary of tokenizer `type` built from `files`, which all exist. Named files that do not
// load are damaged (a data error); with none named, a type that needs files gives nullopt.
std::optional<int64_t> buildable_vocab_size(const std::string& type, const TokenizerFiles& files) {
  const bool names_files = files.vocab_file || files.merge_file || files.tokenizer_model;
  if (names_files) {
    return with_exit_code(ExitCode::kData, [&] {
      return TokenizerRegistry::instance().create(type, files)->vocab_size();
    });
  }
  std::optional<int64_t> size;
  try {
    size = TokenizerRegistry::instance().create(type, files)->vocab_size();
  } catch (const Error&) {
    // It needs files the recipe does not name (only byte needs none): vocab_size must say.
  }
  return size;
}

}  // namespace

Vocabulary training_vocabulary(const Recipe& recipe, int64_t pad_multiple) {
  Vocabulary v;
  if (recipe.data.mock_data) {
    if (!recipe.tokenizer.vocab_size) {
      throw Error("mock data needs tokenizer.vocab_size", "tokenizer.vocab_size");
    }
    v.tokenizer_type = recipe.tokenizer.tokenizer_type.value_or("NullTokenizer");
    v.vocab_size = *recipe.tokenizer.vocab_size;
  } else {
    v = recorded_vocabulary(recipe);
  }
  v.padded_vocab_size =
      recipe.model.padded_vocab_size.value_or(padded_vocab_size(v.vocab_size, pad_multiple, 1));
  if (v.padded_vocab_size < v.vocab_size) {
    throw Error(fmt::format("padded_vocab_size {} is below the tokenizer's vocabulary {}",
                            v.padded_vocab_size, v.vocab_size),
                "model.padded_vocab_size");
  }
  return v;
}

int64_t planning_vocab_size(const Recipe& recipe) {
  const TokenizerConfig& t = recipe.tokenizer;
  const TokenizerFiles files{t.vocab_file, t.merge_file, t.tokenizer_model};
  const std::vector<std::string> missing = missing_tokenizer_files(files);
  if (t.tokenizer_type && missing.empty()) {
    if (auto size = buildable_vocab_size(*t.tokenizer_type, files)) return *size;
  }
  if (t.vocab_size) return *t.vocab_size;
  if (!missing.empty()) {
    throw Error(fmt::format("the vocabulary size is unknown: no tokenizer file to read it from ({} "
                            "not found); set tokenizer.vocab_size (or pass --vocab-size)",
                            fmt::join(missing, ", ")),
                "tokenizer.vocab_size", ExitCode::kData);
  }
  throw Error(
      "the vocabulary size is unknown: set tokenizer.vocab_size, or name a tokenizer file that "
      "gives it (tokenizer.tokenizer_type with tokenizer.vocab_file or tokenizer.tokenizer_model), "
      "or pass --vocab-size",
      "tokenizer.vocab_size", ExitCode::kConfig);
}

}  // namespace me
