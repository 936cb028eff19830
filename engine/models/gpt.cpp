// GPT model: embedding -> transformer layers -> final norm -> LM head/loss, and back in reverse.
// Positions and document ids reach the attention layers through the context's SequenceInfo.
#include "engine/models/gpt.h"

#include "engine/nn/layer_norm.h"
#include "engine/recipe/recipe.h"

namespace me {

namespace {
const Recipe& checked(const Recipe& recipe) {
  const std::string& type = recipe.model.position_embedding_type;
  if (type != "learned_absolute" && type != "rope") {
    throw Error("position_embedding_type '" + type +
                    "' is not supported by model 'gpt' (supported: learned_absolute, rope)",
                "model.position_embedding_type");
  }
  return recipe;
}
}  // namespace

GptModel::GptModel(const Recipe& recipe, int64_t padded_vocab_size)
    : Model(""),
      max_position_embeddings_(checked(recipe).model.max_position_embeddings),
      reset_attention_mask_(recipe.data.reset_attention_mask),
      embedding_("embedding", recipe, padded_vocab_size),
      output_layer_("output_layer", recipe, padded_vocab_size,
                    recipe.model.untie_embeddings_and_output_weights
                        ? nullptr
                        : &embedding_.word_embeddings()) {
  add_child(embedding_);
  for (int64_t i = 0; i < recipe.model.num_layers; ++i) {
    layers_.push_back(LayerRegistry::instance().create(
        "transformer_layer", "decoder.layers." + std::to_string(i), recipe));
    add_child(*layers_.back());
  }
  final_layernorm_ = LayerRegistry::instance().create(normalization_layer_name(recipe),
                                                      "decoder.final_layernorm", recipe);
  add_child(*final_layernorm_);
  add_child(output_layer_);
  std::vector<Layer*> layers;
  for (auto& layer : layers_) layers.push_back(layer.get());
  decoder_.emplace(recipe.train, std::move(layers));
}

std::vector<std::string> GptModel::inputs() const {
  std::vector<std::string> names = {"tokens", "labels", "loss_mask", "position_ids"};
  if (reset_attention_mask_) names.push_back("document_ids");
  return names;
}

Tensor GptModel::decode(const Tensor& tokens, SequenceInfo sequence, MicroBatchContext& ctx) {
  sequence.position_ids = as_int32(sequence.position_ids);
  Tensor h = embedding_.forward(tokens, sequence.position_ids, ctx);
  ctx.set_sequence(std::move(sequence));
  h = decoder_->forward(h, ctx);
  return final_layernorm_->forward(h, ctx);
}

LossSums GptModel::forward(const Batch& batch, MicroBatchContext& ctx) {
  const Device device = embedding_.word_embeddings().value.device();
  SequenceInfo sequence{batch.at("position_ids").to(device), Tensor()};
  if (reset_attention_mask_) {
    if (!batch.tensors.count("document_ids")) {
      throw Error("this dataset does not give the document_ids that reset_attention_mask needs",
                  "data.reset_attention_mask");
    }
    sequence.document_ids = as_int32(batch.at("document_ids").to(device));
  }
  const Tensor h = decode(batch.at("tokens").to(device), std::move(sequence), ctx);
  return output_layer_.forward(h, batch.at("labels").to(device), batch.at("loss_mask"), ctx);
}

void GptModel::backward(double loss_sum_grad, MicroBatchContext& ctx) {
  Tensor dh = output_layer_.backward(loss_sum_grad, ctx);
  dh = final_layernorm_->backward(dh, ctx);
  dh = decoder_->backward(dh, ctx);
  embedding_.backward(dh, ctx);
}

Tensor GptModel::logits(const Tensor& tokens) {
  ME_CHECK(tokens.ndim() == 2, "tokens {} are not (B, T)", tokens.describe());
  const int64_t b = tokens.dim(0), t = tokens.dim(1);
  if (t > max_position_embeddings_) {
    throw Error(
        fmt::format("{} tokens exceed max_position_embeddings {}", t, max_position_embeddings_),
        "model.max_position_embeddings");
  }
  std::vector<int32_t> positions(static_cast<size_t>(b * t));
  for (int64_t i = 0; i < b * t; ++i) positions[i] = static_cast<int32_t>(i % t);
  const Device device = embedding_.word_embeddings().value.device();
  MicroBatchContext ctx(false, 0, 0, 0);
  const Tensor h =
      decode(tokens.to(device), {Tensor::from_vector(positions, {b, t}, device), Tensor()}, ctx);
  const Tensor out = output_layer_.logits(h);
  if (out.dtype() == DType::kF32) return out;
  return out.to(Device::cpu()).cast(DType::kF32).to(device);
}

ME_REGISTER(ModelRegistry, "gpt", GptModel);

}  // namespace me
