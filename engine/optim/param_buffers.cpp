// ParamBuffers: allocate the flat buffers and point every parameter into them.
#include "engine/optim/param_buffers.h"

#include "kernels/elementwise.h"

namespace me {

ParamBuffers::ParamBuffers(std::vector<Parameter*> params_in_forward_order, Device device,
                           const ParamLayoutOptions& options, DType model_dtype)
    : params_(std::move(params_in_forward_order)),
      device_(device),
      layout_(ParamLayout::plan(params_, options)),
      model_dtype_(model_dtype) {
  ME_CHECK(!params_.empty(), "ParamBuffers needs at least one parameter");
  ME_CHECK(dtype_is_float(model_dtype) && model_dtype != DType::kF64, "model dtype {}",
           dtype_name(model_dtype));
  params_buffer_ = Tensor::zeros({layout_.total_elems}, DType::kF32, device_);
  grads_buffer_ = Tensor::zeros({layout_.total_elems}, DType::kF32, device_);
  if (model_dtype_ != DType::kF32) {
    model_buffer_ = Tensor::zeros({layout_.total_elems}, model_dtype_, device_);
  }
  for (size_t i = 0; i < layout_.slots.size(); ++i) {
    const ParamSlot& slot = layout_.slots[i];
    Parameter& param = *slot.param;
    ME_CHECK(slot_by_name_.emplace(param.name, i).second, "parameter '{}' appears twice",
             param.name);
    param.main = params_buffer_.view(slot.offset, param.shape);
    param.grad = grads_buffer_.view(slot.offset, param.shape);
    param.value =
        model_buffer_.defined() ? model_buffer_.view(slot.offset, param.shape) : param.main;
  }
}

void ParamBuffers::zero_grads() { grads_buffer_.zero_(); }

void ParamBuffers::sync_model_params() {
  if (model_buffer_.defined()) cast_into(params_buffer_, model_buffer_);
}

void ParamBuffers::sync_model_params(int64_t begin, int64_t end) {
  ME_CHECK(begin >= 0 && begin <= end && end <= layout_.total_elems,
           "model copy range [{}, {}) of {}", begin, end, layout_.total_elems);
  if (!model_buffer_.defined() || begin == end) return;
  Tensor model = model_buffer_.view(begin, {end - begin});
  cast_into(params_buffer_.view(begin, {end - begin}), model);
}

const ParamSlot* ParamBuffers::slot(const std::string& name) const {
  auto it = slot_by_name_.find(name);
  return it == slot_by_name_.end() ? nullptr : &layout_.slots[it->second];
}

Parameter* ParamBuffers::find(const std::string& name) const {
  const ParamSlot* s = slot(name);
  return s ? s->param : nullptr;
}

}  // namespace me
