// Input embedding: e = word[tokens] (+ position[position_ids]); dropout; gradients scatter-add.
// Vocab-parallel: rows of tokens outside this rank's slice are zeroed before the all-reduce, and
// their gradients before the scatter-add. Sequence parallel: a reduce-scatter in place of the
// all-reduce; backward gathers the rows' gradients for the word table, and the position table's
// gradient is this rank's tokens' share (the trainer sums it over the group).
#include "engine/nn/embedding.h"

#include <algorithm>

#include "engine/recipe/recipe.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"

namespace me {

namespace {
double embedding_std(const Recipe& recipe) {
  return recipe.model.embedding_init_method_std.value_or(recipe.model.init_method_std);
}

// Zeroes the rows (N, C) of tokens that belong to another rank's slice.
void zero_foreign_rows(Tensor& rows, const std::vector<char>& in_shard) {
  const bool in_place = rows.device().is_cpu() && rows.dtype() == DType::kF64;
  Tensor host = in_place ? rows : rows.to(Device::cpu()).cast(DType::kF64).clone();
  double* h = host.data<double>();
  const int64_t c = rows.dim(1);
  for (size_t i = 0; i < in_shard.size(); ++i) {
    if (!in_shard[i]) std::fill_n(h + static_cast<int64_t>(i) * c, c, 0.0);
  }
  if (!in_place) rows.copy_from(host.cast(rows.dtype()).to(rows.device()));
}
}  // namespace

LanguageModelEmbedding::LanguageModelEmbedding(const std::string& name, const Recipe& recipe,
                                               int64_t padded_vocab_size)
    : Module(name),
      hidden_size_(recipe.model.hidden_size),
      shard_(VocabShard::of(TensorParallel::current(), padded_vocab_size)),
      word_embeddings_(add_parameter("word_embeddings.weight",
                                     {shard_.vocab_size, recipe.model.hidden_size},
                                     ParamInit::normal(embedding_std(recipe)), true)),
      position_embeddings_(
          recipe.model.position_embedding_type != "learned_absolute"
              ? nullptr
              : &add_parameter("position_embeddings.weight",
                               {recipe.model.max_position_embeddings, recipe.model.hidden_size},
                               ParamInit::normal(embedding_std(recipe)), true)),
      embedding_dropout_(child_name("embedding_dropout"), recipe.model.hidden_dropout) {
  word_embeddings_.partition = shard_.tp.partition(0);
}

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
  std::vector<char> in_shard;
  const TensorParallel& tp = shard_.tp;
  const int64_t local_t = tp.sequence_split() ? tp.divide(t, "model.seq_length") : t;
  const int64_t rows = b * local_t;
  const Tensor ids = shard_.local_targets(as_int32(tokens).reshape({b * t}), in_shard);
  const Tensor pos = as_int32(position_ids)
                         .reshape({b * t})
                         .view(tp.sequence_split() ? tp.rank * rows : 0, {rows});
  const Tensor& table = word_embeddings_.value;
  Tensor words = Tensor::empty({b * t, hidden_size_}, table.dtype(), table.device());
  embedding_forward(ids, table, words);
  if (tp.size > 1) {
    zero_foreign_rows(words, in_shard);
    if (tp.sequence_split()) {
      words = tp.reduce_scatter(words);
    } else {
      tp.all_reduce(words);
    }
  }
  if (position_embeddings_) {
    Tensor positions = Tensor::empty({rows, hidden_size_}, table.dtype(), table.device());
    embedding_forward(pos, position_embeddings_->value, positions);
    add_into(words, positions);
  }
  ctx.save(this, Saved{ids, pos, std::move(in_shard)});
  return embedding_dropout_.forward(words.reshape({b, local_t, hidden_size_}), ctx);
}

void LanguageModelEmbedding::backward(const Tensor& dy, MicroBatchContext& ctx) {
  Saved saved = ctx.take<Saved>(this);
  const Tensor d =
      embedding_dropout_.backward(dy, ctx).reshape({saved.position_ids.dim(0), hidden_size_});
  if (position_embeddings_) embedding_backward(saved.position_ids, d, position_embeddings_->grad);
  if (shard_.tp.size > 1) {
    // Every token's gradient; a clone when not gathered, as foreign rows are zeroed in place.
    Tensor mine = shard_.tp.sequence_split() ? shard_.tp.all_gather(d) : d.clone();
    zero_foreign_rows(mine, saved.in_shard);
    embedding_backward(saved.tokens, mine, word_embeddings_.grad);
  } else {
    embedding_backward(saved.tokens, d, word_embeddings_.grad);
  }
}

}  // namespace me
