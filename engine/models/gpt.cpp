// GPT model: embedding -> layer stack -> final norm -> LM head/loss, and back in reverse, one
// pipeline chunk at a time. Positions and document ids reach the attention layers through the
// context's SequenceInfo.
#include "engine/models/gpt.h"

#include "datasets/gpt_dataset_schema.h"
#include "engine/models/transformer_config.h"
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
      seq_length_(recipe.model.seq_length),
      micro_batch_size_(recipe.train.micro_batch_size),
      hidden_size_(recipe.model.hidden_size),
      sequence_split_(TensorParallel::current().sequence_split() ? TensorParallel::current().size
                                                                 : 1),
      compute_dtype_(compute_dtype(recipe)),
      stage_(stage_of(recipe)) {
  const bool tied = !recipe.model.untie_embeddings_and_output_weights;
  EmbeddingConfig embedding = embedding_config(recipe, padded_vocab_size);
  // Split over stages, the tied head reads the last stage's own copy of the word table.
  if (tied && stage_.size > 1) embedding.tied_copy_key = "word_embeddings";
  if (stage_.first()) {
    embedding_.emplace("embedding", embedding);
    add_child(*embedding_);
  } else if (stage_.last() && tied) {
    tied_copy_.emplace(embedding);
    add_child(*tied_copy_);
  }
  const std::vector<LayerConfig> blocks = stack_layer_configs(recipe);
  stack_ =
      std::make_unique<LayerStack>("decoder.layers", stage_.chunks, full_recompute(recipe),
                                   [&](int64_t i, const std::string& name) {
                                     return LayerRegistry::instance().create(
                                         "transformer_layer", name, blocks[static_cast<size_t>(i)]);
                                   });
  add_child(*stack_);
  if (!stage_.last()) return;
  final_layernorm_ = make_norm("decoder.final_layernorm", norm_config(recipe, hidden_size_));
  add_child(*final_layernorm_);
  Parameter* tied_weight = nullptr;
  if (tied) tied_weight = embedding_ ? &embedding_->word_embeddings() : &tied_copy_->weight();
  output_layer_.emplace("output_layer", lm_head_config(recipe, padded_vocab_size), tied_weight);
  add_child(*output_layer_);
}

std::vector<TensorSpec> GptModel::inputs() const {
  const Shape row = {seq_length_};
  std::vector<TensorSpec> specs = {{"tokens", DType::kI32, row},
                                   {"labels", DType::kI32, row},
                                   {"loss_mask", DType::kF32, row},
                                   {"position_ids", DType::kI32, row}};
  if (reset_attention_mask_) specs.push_back({"document_ids", DType::kI32, row});
  return specs;
}

std::vector<LossSpec> GptModel::losses() const {
  return {{"lm loss", LossNormalization::kPerToken, 1.0}};
}

DType GptModel::activation_dtype() const {
  for (const Parameter* p : parameters()) {
    if (p->value.defined()) return p->value.dtype();
  }
  return compute_dtype_;
}

TensorSpec GptModel::hidden_spec() const {
  return {"hidden",
          activation_dtype(),
          {micro_batch_size_, seq_length_ / sequence_split_, hidden_size_}};
}

std::vector<TensorSpec> GptModel::chunk_inputs(int64_t chunk) const {
  if (stage_.holds_embedding(chunk)) return {};
  return {hidden_spec()};
}

std::vector<TensorSpec> GptModel::chunk_outputs(int64_t chunk) const {
  if (stage_.holds_loss(chunk)) return {};
  return {hidden_spec()};
}

Device GptModel::device() {
  const std::vector<Parameter*> params = parameters();
  return params.empty() ? Device::cpu() : params.front()->value.device();
}

void GptModel::require_whole(const char* what) const {
  if (stage_.size > 1) {
    throw Error(fmt::format("{} needs the whole model; this one is pipeline stage {} of {}", what,
                            stage_.rank, stage_.size),
                "parallel.pipeline_model_parallel_size");
  }
}

SequenceInfo GptModel::sequence_of(const Batch& batch, Device device) const {
  SequenceInfo sequence{as_int32(batch.at("position_ids").to(device))};
  if (reset_attention_mask_) {
    if (!batch.contains("document_ids")) {
      throw Error("this dataset does not give the document_ids that reset_attention_mask needs",
                  "data.reset_attention_mask");
    }
    sequence.document_ids = as_int32(batch.at("document_ids").to(device));
  }
  return sequence;
}

NamedTensors GptModel::forward_chunk(int64_t chunk, const Batch& batch, const NamedTensors& inputs,
                                     MicroBatchContext& ctx) {
  const Device dev = device();
  SequenceInfo sequence = sequence_of(batch, dev);
  Tensor h;
  if (stage_.holds_embedding(chunk)) {
    ctx.before_forward(*embedding_);
    h = embedding_->forward(batch.at("tokens").to(dev), sequence.position_ids, ctx);
  } else {
    h = inputs.at("hidden");
  }
  ctx.set_sequence(std::move(sequence));
  h = stack_->forward(static_cast<size_t>(chunk), h, ctx);
  if (!stage_.holds_loss(chunk)) return {{{"hidden", h}}};
  ctx.before_forward(*final_layernorm_);
  h = final_layernorm_->forward(h, ctx);
  ctx.before_forward(*output_layer_);
  if (tied_copy_) ctx.before_forward(*tied_copy_);  // the head reads the copy's weight
  output_layer_->forward(h, batch.at("labels").to(dev), batch.at("loss_mask"), ctx);
  return {};
}

NamedTensors GptModel::backward_chunk(int64_t chunk, const NamedTensors& output_grads,
                                      MicroBatchContext& ctx) {
  Tensor dh;
  if (stage_.holds_loss(chunk)) {
    dh = output_layer_->backward(ctx);
    ctx.after_backward(*output_layer_);
    dh = final_layernorm_->backward(dh, ctx);
    ctx.after_backward(*final_layernorm_);
  } else {
    dh = output_grads.at("hidden");
  }
  dh = stack_->backward(static_cast<size_t>(chunk), dh, ctx);
  if (!stage_.holds_embedding(chunk)) return {{{"hidden", dh}}};
  embedding_->backward(dh, ctx);
  ctx.after_backward(*embedding_);
  return {};
}

Tensor GptModel::hidden_states(const Tensor& tokens, SequenceInfo sequence,
                               MicroBatchContext& ctx) {
  require_whole("inference");
  Tensor h = embedding_->forward(tokens, sequence.position_ids, ctx);
  ctx.set_sequence(std::move(sequence));
  h = stack_->forward(0, h, ctx);
  return final_layernorm_->forward(h, ctx);
}

Tensor GptModel::f32_logits(const Tensor& hidden) const {
  const Tensor out = output_layer_->logits(hidden);
  if (out.dtype() == DType::kF32) return out;
  return out.to(Device::cpu()).cast(DType::kF32).to(out.device());
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
  const Device dev = device();
  MicroBatchContext ctx(false, 0, 0, 0);
  return f32_logits(
      hidden_states(tokens.to(dev), {Tensor::from_vector(positions, {b, t}, dev)}, ctx));
}

ChunkCost GptModel::chunk_cost(int64_t chunk, const CostQuery& query) const {
  const CostQuery hidden = query.with_rows(query.rows / static_cast<double>(sequence_split_));
  const bool embeds = stage_.holds_embedding(chunk);
  const bool loss = stage_.holds_loss(chunk);
  std::vector<ModuleCost> parts;
  if (embeds) parts.push_back(embedding_->cost(hidden));
  parts.push_back(stack_->chunk_cost(static_cast<size_t>(chunk), hidden));
  if (loss) {
    parts.push_back(final_layernorm_->cost(hidden));
    parts.push_back(output_layer_->cost(hidden));
  }
  ChunkCost out;
  // Without the loss, backward starts from the received gradient, kept until the chunk returns.
  const double received =
      loss ? 0.0 : hidden.rows * static_cast<double>(hidden_size_) * hidden.element_bytes();
  out.modules = sequence_cost(parts, received);
  for (const TensorSpec& spec : inputs()) {
    const bool kept = spec.name == "position_ids" || spec.name == "document_ids" ||
                      (spec.name == "tokens" && embeds && embedding_->vocab_shard().tp.size == 1) ||
                      (spec.name == "labels" && loss && output_layer_->vocab_shard().tp.size == 1);
    if (kept) out.batch += static_cast<double>(spec_bytes(spec)) / static_cast<double>(seq_length_);
  }
  return out;
}

ME_REGISTER(ModelRegistry, "gpt", GptModel);

}  // namespace me
