// GPTDataset's recipe keys (Megatron's GPTDatasetConfig): the gpt family of the data section,
// read as recipe.family<GptDataConfig>(); fields, defaults and docs in gpt_dataset_schema.cpp.
#pragma once

namespace me {

struct GptDataConfig {
  bool eod_mask_loss;         // no loss on EOD input tokens
  bool reset_position_ids;    // positions restart after each EOD
  bool reset_attention_mask;  // attention stays inside a document ("document_ids")
};

}  // namespace me
