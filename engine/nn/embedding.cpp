// Input embedding: e = word[tokens] (+ position[position_ids]); dropout; gradients scatter-add.
// Vocab-parallel: tokens outside this rank's slice get id -1, so the kernels give them zero rows
// before the all-reduce and drop their gradients. Sequence parallel: a reduce-scatter in place of
// the all-reduce; backward gathers the rows' gradients for the word table, and the position table's
// gradient is this rank's tokens' share (the trainer sums it over the group).
#include "engine/nn/embedding.h"

#include "kernels/elementwise.h"
#include "kernels/embedding.h"

namespace me {

LanguageModelEmbedding::LanguageModelEmbedding(const std::string& name,
                                               const EmbeddingConfig& config)
    : Module(name),
      hidden_size_(config.hidden_size),
      shard_(VocabShard::of(TensorParallel::current(), config.vocab_size)),
      word_embeddings_(add_parameter("word_embeddings.weight",
                                     {shard_.vocab_size, config.hidden_size},
                                     ParamInit::normal(config.init_std), true)),
      position_embeddings_(
          config.max_position_embeddings == 0
              ? nullptr
              : &add_parameter("position_embeddings.weight",
                               {config.max_position_embeddings, config.hidden_size},
                               ParamInit::normal(config.init_std), true)),
      embedding_dropout_(child_name("embedding_dropout"), config.dropout) {
  shard_.tp.set_sharded(word_embeddings_, 0);
  if (position_embeddings_) shard_.tp.set_outside_blocks(*position_embeddings_);
  if (config.tied_copy_key) word_embeddings_.tied = {*config.tied_copy_key, true};
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
  const TensorParallel& tp = shard_.tp;
  const int64_t local_t = tp.sequence_split() ? tp.divide(t, "model.seq_length") : t;
  const int64_t rows = b * local_t;
  const Tensor ids = shard_.local_targets(as_int32(tokens).reshape({b * t}));
  const Tensor pos = as_int32(position_ids)
                         .reshape({b * t})
                         .view(tp.sequence_split() ? tp.rank * rows : 0, {rows});
  const Tensor& table = word_embeddings_.value;
  Tensor words = Tensor::empty({b * t, hidden_size_}, table.dtype(), table.device());
  embedding_forward(ids, table, words);
  if (tp.size > 1) {
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
  ctx.save(this, Saved{ids, pos});
  return embedding_dropout_.forward(words.reshape({b, local_t, hidden_size_}), ctx);
}

void LanguageModelEmbedding::backward(const Tensor& dy, MicroBatchContext& ctx) {
  Saved saved = ctx.take<Saved>(this);
  const Tensor d =
      embedding_dropout_.backward(dy, ctx).reshape({saved.position_ids.dim(0), hidden_size_});
  if (position_embeddings_) embedding_backward(saved.position_ids, d, position_embeddings_->grad);
  // Under sequence parallelism the word table needs every token's gradient.
  const Tensor words = shard_.tp.sequence_split() ? shard_.tp.all_gather(d) : d;
  embedding_backward(saved.tokens, words, word_embeddings_.grad);
}

ModuleCost LanguageModelEmbedding::cost(const CostQuery& query) const {
  const double row = static_cast<double>(hidden_size_) * query.element_bytes();
  const TensorParallel& tp = shard_.tp;
  const double group = static_cast<double>(tp.size);
  ModuleCost c;
  if (tp.size > 1) c.saved = static_cast<double>(dtype_size(DType::kI32));
  c.backward = query.rows * row * (embedding_dropout_.p() > 0 ? 2.0 : 1.0);
  if (tp.sequence_split()) {  // forward reduce-scatter of the rows, backward gather
    c.backward += row;
    c.tensor_parallel_bytes = 2.0 * all_gather_bytes(row, group);
  } else if (tp.size > 1) {
    c.tensor_parallel_bytes = all_reduce_bytes(row, group);
  }
  return c;
}

}  // namespace me
