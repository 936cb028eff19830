// The parts of a Hugging Face tokenizer.json around its BPE model (normalizer, pre_tokenizer,
// post_processor) that HuggingFaceTokenizer supports; anything else is refused by JSON path.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "datasets/bpe_tokenizer.h"

namespace me {

// The Llama-3 / cl100k split pattern as tokenizer.json spells it (Split's pattern.Regex).
inline constexpr const char* kLlama3SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Reads root's normalizer, pre_tokenizer and post_processor into model (pre_tokenizer,
// add_prefix_space, prefix_ids, suffix_ids). Supported:
//   normalizer: null;
//   pre_tokenizer: ByteLevel (use_regex true: GPT-2), or Sequence[Split(pattern.Regex =
//     kLlama3SplitPattern, behavior Isolated, invert false), ByteLevel(use_regex false,
//     add_prefix_space false)] (Llama-3);
//   post_processor: null, ByteLevel (offsets only), TemplateProcessing whose `single` template
//     is special tokens around one $A, or a Sequence of those.
// Anything else is me::Error(PATH) whose message names the JSON path, e.g.
// "pre_tokenizer.pretokenizers[0].pattern.Regex".
void read_hugging_face_pipeline(const nlohmann::json& root, const std::string& path,
                                BpeModel& model);

}  // namespace me
