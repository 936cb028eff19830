// GPT model: embedding -> transformer layers -> final norm -> LM head/loss, and back in reverse.
// Positions and document ids reach the attention layers through the context's SequenceInfo. A
// pipeline stage runs the same pieces chunk by chunk (forward_chunk / backward_chunk).
#include "engine/models/gpt.h"

#include "datasets/gpt_dataset_schema.h"
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

PipelineStage stage_of(const Recipe& recipe) {
  const PipelineStage* scoped = PipelineStage::current();
  return scoped ? *scoped : PipelineStage::whole(recipe.model.num_layers);
}
}  // namespace

GptModel::GptModel(const Recipe& recipe, int64_t padded_vocab_size)
    : Model(""),
      max_position_embeddings_(checked(recipe).model.max_position_embeddings),
      reset_attention_mask_(recipe.family<GptDataConfig>().reset_attention_mask),
      stage_(stage_of(recipe)) {
  const bool tied = !recipe.model.untie_embeddings_and_output_weights;
  if (stage_.first()) {
    embedding_.emplace("embedding", recipe, padded_vocab_size);
    add_child(*embedding_);
  } else if (stage_.last() && tied) {
    tied_copy_.emplace(recipe, padded_vocab_size);
    add_child(*tied_copy_);
  }
  for (const LayerRange& range : stage_.chunks) {
    std::vector<Layer*> chunk;
    for (int64_t i = range.begin; i < range.end; ++i) {
      layers_.push_back(LayerRegistry::instance().create(
          "transformer_layer", "decoder.layers." + std::to_string(i), recipe));
      add_child(*layers_.back());
      chunk.push_back(layers_.back().get());
    }
    chunks_.emplace_back(recipe.train, std::move(chunk));
  }
  if (!stage_.last()) return;
  final_layernorm_ = LayerRegistry::instance().create(normalization_layer_name(recipe),
                                                      "decoder.final_layernorm", recipe);
  add_child(*final_layernorm_);
  Parameter* tied_weight = nullptr;
  if (tied) tied_weight = embedding_ ? &embedding_->word_embeddings() : &tied_copy_->weight();
  output_layer_.emplace("output_layer", recipe, padded_vocab_size, tied_weight);
  add_child(*output_layer_);
}

std::vector<std::string> GptModel::inputs() const {
  std::vector<std::string> names = {"tokens", "labels", "loss_mask", "position_ids"};
  if (reset_attention_mask_) names.push_back("document_ids");
  return names;
}

Device GptModel::device() const {
  return layers_.empty() ? Device::cpu() : layers_.front()->parameters().front()->value.device();
}

void GptModel::require_whole(const char* what) const {
  if (stage_.size > 1) {
    throw Error(fmt::format("{} needs the whole model; this one is pipeline stage {} of {}", what,
                            stage_.rank, stage_.size),
                "parallel.pipeline_model_parallel_size");
  }
}

SequenceInfo GptModel::sequence_of(const Batch& batch, Device device) const {
  SequenceInfo sequence{as_int32(batch.at("position_ids").to(device)), Tensor()};
  if (reset_attention_mask_) {
    if (!batch.tensors.count("document_ids")) {
      throw Error("this dataset does not give the document_ids that reset_attention_mask needs",
                  "data.reset_attention_mask");
    }
    sequence.document_ids = as_int32(batch.at("document_ids").to(device));
  }
  return sequence;
}

Tensor GptModel::decode(const Tensor& tokens, SequenceInfo sequence, MicroBatchContext& ctx) {
  sequence.position_ids = as_int32(sequence.position_ids);
  ctx.before_forward(*embedding_);
  Tensor h = embedding_->forward(tokens, sequence.position_ids, ctx);
  ctx.set_sequence(std::move(sequence));
  h = chunks_.front().forward(h, ctx);
  ctx.before_forward(*final_layernorm_);
  return final_layernorm_->forward(h, ctx);
}

LossSums GptModel::forward(const Batch& batch, MicroBatchContext& ctx) {
  require_whole("forward over a whole batch");
  const Device device = embedding_->word_embeddings().value.device();
  const Tensor h = decode(batch.at("tokens").to(device), sequence_of(batch, device), ctx);
  ctx.before_forward(*output_layer_);
  return output_layer_->forward(h, batch.at("labels").to(device), batch.at("loss_mask"), ctx);
}

void GptModel::backward(double loss_sum_grad, MicroBatchContext& ctx) {
  Tensor dh = output_layer_->backward(loss_sum_grad, ctx);
  ctx.after_backward(*output_layer_);
  dh = final_layernorm_->backward(dh, ctx);
  ctx.after_backward(*final_layernorm_);
  dh = chunks_.front().backward(dh, ctx);
  embedding_->backward(dh, ctx);
  ctx.after_backward(*embedding_);
}

ChunkOutput GptModel::forward_chunk(int64_t chunk, const Batch& batch, const Tensor& hidden,
                                    MicroBatchContext& ctx) {
  ME_CHECK(chunk >= 0 && chunk < static_cast<int64_t>(chunks_.size()),
           "chunk {} of a stage with {}", chunk, chunks_.size());
  const Device dev = device();
  SequenceInfo sequence = sequence_of(batch, dev);
  if (stage_.holds_embedding(chunk)) ctx.before_forward(*embedding_);
  Tensor h = stage_.holds_embedding(chunk)
                 ? embedding_->forward(batch.at("tokens").to(dev), sequence.position_ids, ctx)
                 : hidden;
  ctx.set_sequence(std::move(sequence));
  h = chunks_[static_cast<size_t>(chunk)].forward(h, ctx);
  if (!stage_.holds_loss(chunk)) return {h, {}};
  ctx.before_forward(*final_layernorm_);
  h = final_layernorm_->forward(h, ctx);
  ctx.before_forward(*output_layer_);
  if (tied_copy_) ctx.before_forward(*tied_copy_);  // the head reads the copy's weight
  return {Tensor(),
          output_layer_->forward(h, batch.at("labels").to(dev), batch.at("loss_mask"), ctx)};
}

Tensor GptModel::backward_chunk(int64_t chunk, double loss_sum_grad, const Tensor& grad_hidden,
                                MicroBatchContext& ctx) {
  Tensor dh = grad_hidden;
  if (stage_.holds_loss(chunk)) {
    dh = output_layer_->backward(loss_sum_grad, ctx);
    ctx.after_backward(*output_layer_);
    dh = final_layernorm_->backward(dh, ctx);
    ctx.after_backward(*final_layernorm_);
  }
  dh = chunks_[static_cast<size_t>(chunk)].backward(dh, ctx);
  if (!stage_.holds_embedding(chunk)) return dh;
  embedding_->backward(dh, ctx);
  ctx.after_backward(*embedding_);
  return Tensor();
}

Tensor GptModel::logits(const Tensor& tokens) {
  require_whole("inference");
  ME_CHECK(tokens.ndim() == 2, "tokens {} are not (B, T)", tokens.describe());
  const int64_t b = tokens.dim(0), t = tokens.dim(1);
  if (t > max_position_embeddings_) {
    throw Error(
        fmt::format("{} tokens exceed max_position_embeddings {}", t, max_position_embeddings_),
        "model.max_position_embeddings");
  }
  std::vector<int32_t> positions(static_cast<size_t>(b * t));
  for (int64_t i = 0; i < b * t; ++i) positions[i] = static_cast<int32_t>(i % t);
  const Device device = embedding_->word_embeddings().value.device();
  MicroBatchContext ctx(false, 0, 0, 0);
  const Tensor h =
      decode(tokens.to(device), {Tensor::from_vector(positions, {b, t}, device), Tensor()}, ctx);
  const Tensor out = output_layer_->logits(h);
  if (out.dtype() == DType::kF32) return out;
  return out.to(Device::cpu()).cast(DType::kF32).to(device);
}

ME_REGISTER(ModelRegistry, "gpt", GptModel);

}  // namespace me
