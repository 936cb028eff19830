// Transformer block. Pre-LN: the residual gradient goes straight through and each branch's input
// gradient is added to it inside the branch's norm backward (which fuses the add); forward adds
// each branch's output inside the next branch's norm. Post-LN: each norm's forward adds the branch
// to the stream it normalises.
#include "engine/nn/transformer_layer.h"

#include <algorithm>

#include "engine/nn/recompute.h"
#include "kernels/elementwise.h"

namespace me {

namespace {
// x + branch, into a new tensor (x may be a view the caller still needs).
Tensor residual_add(const Tensor& x, const Tensor& branch) {
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  add(x, branch, out);
  return out;
}
}  // namespace

TransformerLayer::TransformerLayer(const std::string& name, const LayerConfig& config)
    : Layer(name), post_norm_(config.block.post_norm) {
  const BlockConfig& block = config.block;
  add_branch(block.self_attention, "input_layernorm", "self_attention", "self_attn_bda", config,
             block.selective_recompute);
  add_branch(block.cross_attention, "pre_cross_attn_layernorm", "cross_attention", "cross_attn_bda",
             config, false);
  add_branch(block.mlp, "pre_mlp_layernorm", "mlp", "mlp_bda", config, false);
  if (branches_.empty()) {
    throw Error(name +
                ": a transformer layer needs at least one of self_attention, "
                "cross_attention and mlp");
  }
}

void TransformerLayer::add_branch(const std::string& type, const std::string& norm_name,
                                  const std::string& layer_name, const std::string& dropout_name,
                                  const LayerConfig& config, bool checkpointed) {
  if (type.empty()) return;
  Branch& b = branches_.emplace_back();
  b.norm = make_norm(child_name(norm_name), config.norm);
  b.layer = LayerRegistry::instance().create(type, child_name(layer_name), config);
  b.dropout = std::make_unique<Dropout>(child_name(dropout_name), config.block.hidden_dropout);
  b.checkpointed = checkpointed;
  add_child(*b.norm);
  add_child(*b.layer);
}

Tensor TransformerLayer::branch_forward(Branch& branch, const Tensor& x, MicroBatchContext& ctx) {
  Layer* layer = branch.layer.get();
  const Tensor y = branch.checkpointed ? checkpointed_forward(*this, {&layer, 1}, x, ctx)
                                       : layer->forward(x, ctx);
  return branch.dropout->forward(y, ctx);
}

Tensor TransformerLayer::branch_backward(Branch& branch, const Tensor& dy, MicroBatchContext& ctx) {
  const Tensor d = branch.dropout->backward(dy, ctx);
  Layer* layer = branch.layer.get();
  return branch.checkpointed ? checkpointed_backward(*this, {&layer, 1}, d, ctx)
                             : layer->backward(d, ctx);
}

Tensor TransformerLayer::forward(const Tensor& x, MicroBatchContext& ctx) {
  return post_norm_ ? forward_post_norm(x, ctx) : forward_pre_norm(x, ctx);
}

Tensor TransformerLayer::backward(const Tensor& dy, MicroBatchContext& ctx) {
  return post_norm_ ? backward_post_norm(dy, ctx) : backward_pre_norm(dy, ctx);
}

Tensor TransformerLayer::forward_pre_norm(const Tensor& x, MicroBatchContext& ctx) {
  Tensor stream = x;  // the residual stream before the pending branch output is added
  Tensor pending;     // the previous branch's output, added inside this branch's norm
  for (Branch& branch : branches_) {
    Tensor n;
    if (pending.defined()) {
      Tensor added;
      n = branch.norm->forward_add(stream, pending, added, ctx);
      stream = std::move(added);
    } else {
      n = branch.norm->forward(stream, ctx);
    }
    pending = branch_forward(branch, n, ctx);
  }
  return residual_add(stream, pending);
}

Tensor TransformerLayer::backward_pre_norm(const Tensor& dy, MicroBatchContext& ctx) {
  Tensor dstream = dy;  // the gradient of the residual stream (and of the pending output)
  for (size_t i = branches_.size(); i-- > 0;) {
    Branch& branch = branches_[i];
    const Tensor dn = branch_backward(branch, dstream, ctx);
    dstream = branch.norm->backward_add(dn, dstream, ctx);
  }
  return dstream;
}

Tensor TransformerLayer::forward_post_norm(const Tensor& x, MicroBatchContext& ctx) {
  Tensor stream = x;
  for (Branch& branch : branches_) {
    const Tensor out = branch_forward(branch, stream, ctx);
    Tensor added;  // stream + out, which the norm keeps for its backward
    stream = branch.norm->forward_add(stream, out, added, ctx);
  }
  return stream;
}

Tensor TransformerLayer::backward_post_norm(const Tensor& dy, MicroBatchContext& ctx) {
  Tensor dstream = dy;
  for (size_t i = branches_.size(); i-- > 0;) {
    Branch& branch = branches_[i];
    const Tensor dsum = branch.norm->backward(dstream, ctx);  // of stream + branch output
    dstream = branch_backward(branch, dsum, ctx);
    add_into(dstream, dsum);
  }
  return dstream;
}

ModuleCost TransformerLayer::cost(const CostQuery& query) const {
  const double stream = branches_.front().norm->cost(query).input;  // a residual-stream tensor
  ModuleCost c;
  c.input = stream;
  double later = 0;  // saved bytes of the branches whose backward already ran
  for (size_t i = branches_.size(); i-- > 0;) {
    const Branch& b = branches_[i];
    const ModuleCost norm = b.norm->cost(query);
    const ModuleCost layer = b.layer->cost(query);
    const double kept = b.checkpointed ? layer.input : layer.saved;
    // The layer's backward, after re-running its forward when checkpointed.
    const double layer_backward = layer.backward + (layer.saved - kept);
    // Beside the stream's gradient: the caller's incoming one, below the last branch.
    const double outer = i + 1 < branches_.size() ? stream : 0.0;
    const double dropout = b.dropout->p() > 0 ? stream : 0.0;  // its gradient of dy
    if (post_norm_) {  // the norm's backward runs first, then the branch with dstream alive
      c.backward = std::max({c.backward, norm.backward + outer - later,
                             layer_backward + dropout + stream + outer - later - norm.saved});
    } else {  // the branch first, then the norm's backward_add with dstream alive
      c.backward = std::max({c.backward, layer_backward + dropout + outer - later,
                             norm.backward + stream + outer - later - kept});
    }
    later += norm.saved + kept;
    c.flops += layer.flops;
    c.tensor_parallel_bytes += layer.tensor_parallel_bytes;
  }
  c.saved = later;
  return c;
}

ME_REGISTER(LayerRegistry, "transformer_layer", TransformerLayer);

}  // namespace me
