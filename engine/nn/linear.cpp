// Linear layer: forward y = x W^T + b; backward dx = dy W, dW += dy^T x, db += sum of dy rows,
// with the bias, a following GeLU and the bias gradient fused into the GEMMs (kernels/linear.h).
// Column-parallel: all-reduce dx in backward; row-parallel: all-reduce y before the bias. Sequence
// parallel swaps each all-reduce for a reduce-scatter of the token rows and gathers the other side.
#include "engine/nn/linear.h"

#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/matmul.h"

namespace me {

namespace {
// This rank's length of `full` features: all of them, or under the split its share of each block.
int64_t local_size(const TensorParallel& tp, bool split, int64_t full,
                   const std::vector<int64_t>& blocks, const std::string& what) {
  if (!split) return full;
  if (blocks.empty()) return tp.divide(full, what);
  int64_t local = 0, total = 0;
  for (int64_t block : blocks) {
    local += tp.divide(block, what);
    total += block;
  }
  ME_CHECK(total == full, "{}: output blocks of {} in total for {} features", what, total, full);
  return local;
}

// (..., from) -> (..., to): the same leading dimensions with a new last one, and under sequence
// parallelism the token dimension (1 of (B, T, C)) times `times` and divided by `divide`.
Shape with_last_dim(const Shape& shape, int64_t last, int64_t times = 1, int64_t divide = 1) {
  Shape out = shape;
  out.back() = last;
  if (times != 1 || divide != 1) {
    ME_CHECK(out.size() == 3 && out[1] * times % divide == 0,
             "sequence-parallel activation {} is not (B, T, C) with T split {} / {}",
             shape_str(shape), times, divide);
    out[1] = out[1] * times / divide;
  }
  return out;
}
}  // namespace

Linear::Linear(const std::string& name, int64_t in_features, int64_t out_features, bool bias,
               ParamInit weight_init, TensorSplit split, std::vector<int64_t> output_blocks)
    : Module(name),
      tp_(TensorParallel::current()),
      split_(split),
      in_features_(
          local_size(tp_, split == TensorSplit::kRow, in_features, {}, name + " input features")),
      out_features_(local_size(tp_, split == TensorSplit::kColumn, out_features, output_blocks,
                               name + " output features")),
      weight_(add_parameter("weight", {out_features_, in_features_}, weight_init, true)),
      bias_(bias ? &add_parameter("bias", {out_features_}, ParamInit::zeros(), false) : nullptr) {
  if (split_ == TensorSplit::kColumn) {
    tp_.set_sharded(weight_, 0, output_blocks);
    if (bias_) tp_.set_sharded(*bias_, 0, output_blocks);
  } else {
    tp_.set_sharded(weight_, 1);
    if (bias_) tp_.set_outside_blocks(*bias_);  // added after the reduce, to every token row
  }
}

Tensor Linear::forward(const Tensor& x, MicroBatchContext& ctx) {
  return forward_impl(x, nullptr, ctx);
}

Tensor Linear::forward_gelu(const Tensor& x, Tensor& pre, MicroBatchContext& ctx) {
  ME_CHECK(split_ == TensorSplit::kColumn, "{}: GeLU fused into a row-parallel linear", name());
  return forward_impl(x, &pre, ctx);
}

Tensor Linear::forward_impl(const Tensor& x, Tensor* gelu_pre, MicroBatchContext& ctx) {
  ME_CHECK(x.ndim() >= 1 && x.dim(-1) == in_features_, "{}: input {} for {} input features", name(),
           x.describe(), in_features_);
  const bool sp = tp_.sequence_split();
  const bool gather = sp && split_ == TensorSplit::kColumn;
  const Tensor local = x.flatten_to_2d();
  const Tensor x2 = gather ? tp_.all_gather(local) : local;
  Tensor y = Tensor::empty({x2.dim(0), out_features_}, x.dtype(), x.device());
  // The bias rides in the GEMM's epilogue unless the row-parallel reduce comes between them.
  const bool bias_after_reduce = split_ == TensorSplit::kRow && tp_.size > 1;
  const Tensor fused_bias = bias_ && !bias_after_reduce ? bias_->value : Tensor();
  if (gelu_pre) {
    *gelu_pre = Tensor::empty(y.shape(), y.dtype(), y.device());
    linear_gelu_forward(x2, weight_.value, fused_bias, *gelu_pre, y);
  } else {
    linear_forward(x2, weight_.value, fused_bias, y);
  }
  if (split_ == TensorSplit::kRow) {
    if (sp) {
      y = tp_.reduce_scatter(y);
    } else {
      tp_.all_reduce(y);
    }
  }
  if (bias_ && bias_after_reduce) add_bias(y, bias_->value);
  ctx.save(this, Saved{local});
  const Shape out_shape = !sp      ? with_last_dim(x.shape(), out_features_)
                          : gather ? with_last_dim(x.shape(), out_features_, tp_.size)
                                   : with_last_dim(x.shape(), out_features_, 1, tp_.size);
  if (gelu_pre) *gelu_pre = gelu_pre->reshape(out_shape);
  return y.reshape(out_shape);
}

Tensor Linear::backward(const Tensor& dy, MicroBatchContext& ctx) {
  return backward_impl(dy, Tensor(), ctx);
}

Tensor Linear::backward_gelu(const Tensor& dy, const Tensor& pre, MicroBatchContext& ctx) {
  // Column-parallel dx is all-reduced, and GeLU's derivative would have to follow the reduce.
  ME_CHECK(split_ == TensorSplit::kRow || tp_.size == 1,
           "{}: GeLU backward fused into a column-parallel linear", name());
  return backward_impl(dy, pre.flatten_to_2d(), ctx);
}

Tensor Linear::backward_impl(const Tensor& dy, const Tensor& gelu_pre, MicroBatchContext& ctx) {
  Saved saved = ctx.take<Saved>(this);
  const bool sp = tp_.sequence_split();
  const Tensor local_dy = dy.flatten_to_2d();
  const Tensor dy2 = sp && split_ == TensorSplit::kRow ? tp_.all_gather(local_dy) : local_dy;
  const Tensor input =
      sp && split_ == TensorSplit::kColumn ? tp_.all_gather(saved.input) : saved.input;
  ME_CHECK(dy2.dim(0) == input.dim(0) && dy2.dim(1) == out_features_,
           "{}: gradient {} for input {}", name(), dy.describe(), input.describe());
  Tensor dx = Tensor::empty({dy2.dim(0), in_features_}, dy.dtype(), dy.device());
  if (gelu_pre.defined()) {
    linear_gelu_backward_input(dy2, weight_.value, gelu_pre, dx);
  } else {
    matmul(dy2, false, weight_.value, false, dx);
  }
  // The bias gradient comes from dy as it arrives: row-parallel under sequence parallelism that is
  // this rank's tokens only, a partial sum the trainer adds up over the group; otherwise it rides
  // in the weight-gradient GEMM's epilogue.
  const bool local_bias_grad = bias_ && dy2.dim(0) != local_dy.dim(0);
  if (local_bias_grad) bias_backward(local_dy, bias_->grad);
  Tensor no_bias;
  linear_backward_weight(dy2, input, weight_.grad,
                         bias_ && !local_bias_grad ? bias_->grad : no_bias);
  if (split_ == TensorSplit::kColumn) {
    if (sp) {
      dx = tp_.reduce_scatter(dx);
      return dx.reshape(with_last_dim(dy.shape(), in_features_, 1, tp_.size));
    }
    tp_.all_reduce(dx);
  }
  if (sp) return dx.reshape(with_last_dim(dy.shape(), in_features_, tp_.size));
  return dx.reshape(with_last_dim(dy.shape(), in_features_));
}

double Linear::output_rows(double input_rows) const {
  if (!tp_.sequence_split()) return input_rows;
  const double tp = static_cast<double>(tp_.size);
  return split_ == TensorSplit::kColumn ? input_rows * tp : input_rows / tp;
}

ModuleCost Linear::cost(const CostQuery& query) const {
  const double in = static_cast<double>(in_features_) * query.element_bytes();
  const double out = static_cast<double>(out_features_) * query.element_bytes();
  const double tp = static_cast<double>(tp_.size);
  const bool column = split_ == TensorSplit::kColumn;
  const bool gathers = tp_.sequence_split();
  // Rows the GEMMs run over: every token's, also where the input is this rank's share of them.
  const double rows = column ? output_rows(query.rows) : query.rows;
  ModuleCost c;
  c.input = query.rows * in;
  c.saved = c.input;
  c.flops = 6.0 * rows * static_cast<double>(in_features_ * out_features_);
  c.backward = output_rows(query.rows) * out + rows * in;  // dy, dx
  if (gathers) c.backward += column ? rows * in + query.rows * in : rows * out;
  if (tp_.size > 1) {
    if (!gathers) {  // forward (row) or backward (column) all-reduce
      c.tensor_parallel_bytes = all_reduce_bytes(rows * (column ? in : out), tp);
    } else if (column) {  // forward gather of x; backward gather of x and reduce-scatter of dx
      c.tensor_parallel_bytes = 3.0 * all_gather_bytes(rows * in, tp);
    } else {  // forward reduce-scatter of y; backward gather of dy
      c.tensor_parallel_bytes = 2.0 * all_gather_bytes(rows * out, tp);
    }
  }
  return c;
}

}  // namespace me
