// Input embedding: e = word[tokens] (+ position[position_ids]); dropout; gradients scatter-add.
#include "engine/nn/embedding.h"

#include "engine/recipe/recipe.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"

namespace me {

namespace {
double embedding_std(const Recipe& recipe) {
  return recipe.model.embedding_init_method_std.value_or(recipe.model.init_method_std);
}
}  // namespace

LanguageModelEmbedding::LanguageModelEmbedding(const std::string& name, const Recipe& recipe,
                                               int64_t padded_vocab_size)
    : Module(name),
      hidden_size_(recipe.model.hidden_size),
      word_embeddings_(add_parameter("word_embeddings.weight",
                                     {padded_vocab_size, recipe.model.hidden_size},
                                     ParamInit::normal(embedding_std(recipe)), true)),
      position_embeddings_(
          recipe.model.position_embedding_type != "learned_absolute"
              ? nullptr
              : &add_parameter("position_embeddings.weight",
                               {recipe.model.max_position_embeddings, recipe.model.hidden_size},
                               ParamInit::normal(embedding_std(recipe)), true)),
      embedding_dropout_(child_name("embedding_dropout"), recipe.model.hidden_dropout) {}

Tensor as_int32(const Tensor& ids) {
  if (ids.dtype() == DType::kI32) return ids;
  return ids.to(Device::cpu()).cast(DType::kI32).to(ids.device());
}

Tensor LanguageModelEmbedding::forward(const Tensor& tokens, const Tensor& position_ids,
                                       MicroBatchContext& ctx) {
  ME_CHECK(tokens.ndim() == 2 && tokens.shape() == position_ids.shape(),
           "{}: tokens {} and position_ids {} must both be (B, T)", name(), tokens.describe(),
           position_ids.describe());
  const int64_t b = tokens.dim(0), t = tokens.dim(1);
  const Tensor ids = as_int32(tokens).reshape({b * t});
  const Tensor pos = as_int32(position_ids).reshape({b * t});
  const Tensor& table = word_embeddings_.value;
  Tensor words = Tensor::empty({b * t, hidden_size_}, table.dtype(), table.device());
  embedding_forward(ids, table, words);
  if (position_embeddings_) {
    Tensor positions = Tensor::empty({b * t, hidden_size_}, table.dtype(), table.device());
    embedding_forward(pos, position_embeddings_->value, positions);
    add_into(words, positions);
  }
  ctx.save(this, Saved{ids, pos});
  return embedding_dropout_.forward(words.reshape({b, t, hidden_size_}), ctx);
}

void LanguageModelEmbedding::backward(const Tensor& dy, MicroBatchContext& ctx) {
  Saved saved = ctx.take<Saved>(this);
  const Tensor d =
      embedding_dropout_.backward(dy, ctx).reshape({saved.tokens.dim(0), hidden_size_});
  embedding_backward(saved.tokens, d, word_embeddings_.grad);
  if (position_embeddings_) embedding_backward(saved.position_ids, d, position_embeddings_->grad);
}

}  // namespace me
