// LM head + loss: logits = h W^T; losses = lse - logit[label]; loss_sum = sum(losses * mask).
// Backward: dlogits = (softmax - onehot) * mask * d(loss_sum); dh = dlogits W; dW += dlogits^T h.
// Each tensor-parallel rank does this over its vocabulary columns; dh is summed over the group
// (all-reduce, or under sequence parallelism reduce-scatter to this rank's token rows).
#include "engine/nn/lm_head.h"

#include "engine/nn/embedding.h"
#include "kernels/cross_entropy.h"
#include "kernels/matmul.h"

namespace me {

LanguageModelHead::LanguageModelHead(const std::string& name, const LmHeadConfig& config,
                                     Parameter* tied_weight)
    : Module(name),
      hidden_size_(config.hidden_size),
      loss_(config.loss),
      shard_(VocabShard::of(TensorParallel::current(), config.vocab_size)),
      vocab_size_(shard_.vocab_size),
      weight_(tied_weight ? *tied_weight
                          : add_parameter("weight", {vocab_size_, config.hidden_size},
                                          ParamInit::normal(config.init_std), true)) {
  if (!tied_weight) shard_.tp.set_sharded(weight_, 0);
  ME_CHECK(weight_.shape == Shape({vocab_size_, hidden_size_}), "{}: weight {} is not ({}, {})",
           name, shape_str(weight_.shape), vocab_size_, hidden_size_);
}

Tensor LanguageModelHead::logits(const Tensor& hidden) const {
  if (shard_.tp.size > 1) {
    throw Error("inference logits are not gathered over tensor-parallel ranks; use 1",
                "parallel.tensor_model_parallel_size");
  }
  return shard_logits(hidden);
}

Tensor LanguageModelHead::shard_logits(const Tensor& hidden) const {
  ME_CHECK(hidden.ndim() == 3 && hidden.dim(2) == hidden_size_, "{}: hidden {} is not (B, T, {})",
           name(), hidden.describe(), hidden_size_);
  const Tensor h2 = hidden.flatten_to_2d();
  Tensor out = Tensor::empty({h2.dim(0), vocab_size_}, hidden.dtype(), hidden.device());
  matmul(h2, false, weight_.value, true, out);
  return out.reshape({hidden.dim(0), hidden.dim(1), vocab_size_});
}

Tensor LanguageModelHead::whole_sequence(const Tensor& hidden) const {
  if (!shard_.tp.sequence_split()) return hidden;
  ME_CHECK(hidden.ndim() == 3, "{}: hidden {} is not (B, T / tp, C)", name(), hidden.describe());
  return shard_.tp.all_gather(hidden.flatten_to_2d())
      .reshape({hidden.dim(0), hidden.dim(1) * shard_.tp.size, hidden.dim(2)});
}

void LanguageModelHead::forward(const Tensor& local_hidden, const Tensor& labels,
                                const Tensor& loss_mask, MicroBatchContext& ctx) {
  const Tensor hidden = whole_sequence(local_hidden);
  ME_CHECK(labels.ndim() == 2 && labels.shape() == loss_mask.shape() &&
               hidden.dim(0) == labels.dim(0) && hidden.dim(1) == labels.dim(1),
           "{}: labels {} and loss_mask {} do not match hidden {}", name(), labels.describe(),
           loss_mask.describe(), hidden.describe());
  const int64_t n = labels.numel();
  const Tensor logits2 = shard_logits(hidden).reshape({n, vocab_size_});
  const Tensor targets = shard_.local_targets(as_int32(labels).reshape({n}));
  const DType loss_dtype = accum_dtype(hidden.dtype());
  Tensor losses = Tensor::empty({n}, loss_dtype, hidden.device());
  Tensor lse = Tensor::empty({n}, loss_dtype, hidden.device());
  vocab_parallel_cross_entropy_forward(logits2, targets, shard_, losses, lse);

  const Tensor mask = loss_mask.to(Device::cpu()).cast(DType::kF64).reshape({n});
  const Tensor host_losses = losses.to(Device::cpu()).cast(DType::kF64);
  const double* m = mask.data<double>();
  const double* l = host_losses.data<double>();
  double loss_sum = 0.0, num_tokens = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    loss_sum += l[i] * m[i];
    num_tokens += m[i];
  }
  ctx.add_loss(loss_, loss_sum, num_tokens);
  ctx.save(this, Saved{local_hidden, logits2, targets, lse, mask});
}

Tensor LanguageModelHead::backward(MicroBatchContext& ctx) {
  Saved saved = ctx.take<Saved>(this);
  const double loss_sum_grad = ctx.loss_grad(loss_);
  const Tensor h2 = whole_sequence(saved.hidden).flatten_to_2d();
  const int64_t n = h2.dim(0);
  Tensor dlosses_host = Tensor::empty({n}, DType::kF64);
  double* d = dlosses_host.data<double>();
  const double* m = saved.loss_mask.data<double>();
  for (int64_t i = 0; i < n; ++i) d[i] = m[i] * loss_sum_grad;
  const Tensor dlosses = dlosses_host.cast(saved.lse.dtype()).to(h2.device());

  // The logits die here: their gradient overwrites them (one (N, V) buffer at the peak, not two).
  // With the full lse and the local targets this is the vocab-parallel backward too.
  Tensor& dlogits = saved.logits;
  cross_entropy_backward(saved.logits, saved.labels, saved.lse, dlosses, dlogits);
  Tensor dh = Tensor::empty(h2.shape(), h2.dtype(), h2.device());
  matmul(dlogits, false, weight_.value, false, dh);
  matmul(dlogits, true, h2, false, weight_.grad, 1.0f, 1.0f);
  if (shard_.tp.sequence_split()) return shard_.tp.reduce_scatter(dh).reshape(saved.hidden.shape());
  shard_.tp.all_reduce(dh);
  return dh.reshape(saved.hidden.shape());
}

ModuleCost LanguageModelHead::cost(const CostQuery& query) const {
  const double row = static_cast<double>(hidden_size_) * query.element_bytes();
  const double f64 = static_cast<double>(dtype_size(DType::kF64));
  const double host_f64 = query.host ? f64 : 0.0;
  const TensorParallel& tp = shard_.tp;
  const double group = static_cast<double>(tp.size);
  ModuleCost c;
  c.input = query.rows * row;
  c.saved = c.input + static_cast<double>(vocab_size_) * query.element_bytes() +
            query.statistic_bytes() + host_f64;
  if (tp.size > 1) c.saved += static_cast<double>(dtype_size(DType::kI32));
  c.backward = host_f64 + query.statistic_bytes() + row;
  if (tp.sequence_split()) c.backward += row + query.rows * row;
  c.flops = 6.0 * static_cast<double>(vocab_size_ * hidden_size_);
  if (tp.size > 1) {
    // The cross-entropy's row max, sum of exponentials and target logit: f64 per token.
    c.tensor_parallel_bytes = all_reduce_bytes(3.0 * f64, group);
    // Forward and backward gather of the hidden and reduce-scatter of its gradient, or the
    // gradient's all-reduce.
    c.tensor_parallel_bytes +=
        tp.sequence_split() ? 3.0 * all_gather_bytes(row, group) : all_reduce_bytes(row, group);
  }
  return c;
}

}  // namespace me
