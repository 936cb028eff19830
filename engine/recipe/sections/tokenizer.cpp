// Recipe section `tokenizer`: which tokenizer and its files.
#include "engine/recipe/sections/sections.h"

namespace me {

FieldGroup tokenizer_section() {
  FieldGroup group{.section = "tokenizer", .doc = "Tokenizer and its files.", .file = __FILE__};
  group.fields = {
      ME_FIELD(tokenizer, tokenizer_type)
          .def("null")
          .one_of({"byte", "GPT2BPETokenizer", "HuggingFaceTokenizer", "TikTokenizer",
                   "GPTSentencePieceTokenizer", "Llama2Tokenizer", "SentencePieceTokenizer"})
          .describe("Tokenizer; null means the one recorded in the dataset file. "
                    "'byte' (raw UTF-8 bytes) is megatron-engine's own."),
      ME_FIELD(tokenizer, vocab_file).def("null").describe("vocab.json for GPT2BPETokenizer."),
      ME_FIELD(tokenizer, merge_file).def("null").describe("merges.txt for GPT2BPETokenizer."),
      ME_FIELD(tokenizer, tokenizer_model)
          .def("null")
          .describe("tokenizer.json (HuggingFaceTokenizer), tiktoken rank file (TikTokenizer) "
                    "or SentencePiece .model."),
      ME_FIELD(tokenizer, vocab_size)
          .def("null")
          .in(kPositive)
          .describe("Vocabulary size when no tokenizer file gives it."),
  };
  return group;
}

}  // namespace me
