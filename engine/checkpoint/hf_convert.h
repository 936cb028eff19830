// Hugging Face import and export: a model directory (config.json, safetensors weights, tokenizer
// files) <-> our checkpoint (iteration 0, no optimizer state) of the `gpt` model.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/checkpoint/hf_weights.h"
#include "engine/recipe/recipe.h"

namespace me {

struct HfImportOptions {
  // Empty: HuggingFaceTokenizer when tokenizer.json is there, else GPT2BPETokenizer when
  // vocab.json and merges.txt are, else none (the recipe then names no tokenizer).
  std::string tokenizer_type;
  // 0: the model keeps HF's vocab_size rows. N: rows padded with zeros to a multiple of N, as
  // Megatron's make_vocab_size_divisible_by does (export drops them again).
  int64_t make_vocab_size_divisible_by = 0;
};

struct HfExportOptions {
  std::string dtype = "auto";  // f32, bf16, f16, or auto: the dtype the model was imported in
  int64_t max_shard_bytes = kDefaultMaxShardBytes;
  // Real vocabulary rows to keep; unset: tokenizer.vocab_size of the recipe, else the tokenizer's.
  std::optional<int64_t> vocab_size;
};

// The recipe (YAML text, validated by parse_recipe) of the HF model in hf_dir. The tokenizer
// section points at tokenizer files inside `tokenizer_dir`, where the import copies them.
// model.padded_vocab_size is HF's vocab_size unless options ask for padding; tokenizer.vocab_size
// is HF's vocab_size, the rows an export keeps.
std::string hf_recipe_yaml(const std::string& hf_dir, const std::string& tokenizer_dir,
                           const HfImportOptions& options = {});

// Converts hf_dir into ckpt_root/iter_0000000 and returns that directory. Tokenizer files and
// config.json (as hf_config.json) are copied into it.
std::string import_hf_checkpoint(const std::string& hf_dir, const std::string& ckpt_root,
                                 const HfImportOptions& options = {});

// Writes the checkpoint at `ckpt` (a root holding `latest`, or an iter_* directory) into hf_dir:
// config.json, model.safetensors (or shards and model.safetensors.index.json), tokenizer files.
void export_hf_checkpoint(const std::string& ckpt, const std::string& hf_dir,
                          const HfExportOptions& options = {});

}  // namespace me
