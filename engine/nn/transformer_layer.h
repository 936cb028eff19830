// Transformer block (Megatron mcore TransformerLayer), registered as "transformer_layer": up to
// three residual branches, each a norm, a registered layer and a dropout (p = hidden_dropout), in
// Megatron's order and slot names:
//   self-attention   input_layernorm          self_attention     self_attn_bda
//   cross-attention  pre_cross_attn_layernorm cross_attention    cross_attn_bda
//   mlp              pre_mlp_layernorm        mlp                mlp_bda
// BlockConfig says which branches the block has and their layer types (a hybrid pattern's `*` is
// attention alone, `-` an MLP alone) and the residual order:
//   pre-LN (GPT, Llama)   h = h + dropout(branch(norm(h)))
//   post-LN (BERT as HF)  h = norm(h + dropout(branch(h)))
// With selective recompute the self-attention branch is checkpointed at its input
// (engine/nn/recompute.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/nn/dropout.h"
#include "engine/nn/module.h"

namespace me {

class TransformerLayer final : public Layer {
 public:
  TransformerLayer(const std::string& name, const LayerConfig& config);

  Tensor forward(const Tensor& x, MicroBatchContext& ctx) override;    // (B, T, C)
  Tensor backward(const Tensor& dy, MicroBatchContext& ctx) override;  // (B, T, C)
  // Its branches' norms and layers (a checkpointed branch keeps only its input, and re-runs its
  // forward in backward), plus what its own backward holds: the residual stream's gradient beside
  // a branch's (and the caller's incoming gradient below the last branch), the hidden dropout's
  // gradient.
  ModuleCost cost(const CostQuery& query) const override;

 private:
  struct Branch {
    std::unique_ptr<Layer> norm;
    std::unique_ptr<Layer> layer;
    std::unique_ptr<Dropout> dropout;
    bool checkpointed = false;  // selective recompute of the self-attention branch
  };

  void add_branch(const std::string& type, const std::string& norm_name,
                  const std::string& layer_name, const std::string& dropout_name,
                  const LayerConfig& config, bool checkpointed);
  Tensor branch_forward(Branch& branch, const Tensor& x, MicroBatchContext& ctx);
  Tensor branch_backward(Branch& branch, const Tensor& dy, MicroBatchContext& ctx);
  Tensor forward_pre_norm(const Tensor& x, MicroBatchContext& ctx);
  Tensor backward_pre_norm(const Tensor& dy, MicroBatchContext& ctx);
  Tensor forward_post_norm(const Tensor& x, MicroBatchContext& ctx);
  Tensor backward_post_norm(const Tensor& dy, MicroBatchContext& ctx);

  bool post_norm_;
  std::vector<Branch> branches_;
};

}  // namespace me
