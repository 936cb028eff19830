// The flat fp32 parameter and gradient buffers of one model chunk (and, with bf16/f16 mixed
// precision, the flat model copy the modules compute with). Every Parameter's main, grad and value
// become views into them, so the optimizer, clipping, scaling, reduces and checkpoints walk
// contiguous tensors instead of many small ones.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "engine/core/device.h"
#include "engine/core/tensor.h"
#include "engine/nn/parameter.h"
#include "engine/optim/param_layout.h"

namespace me {

class ParamBuffers {
 public:
  // Plans the layout, allocates the buffers zero-filled on `device` and binds every parameter's
  // main, grad and value to its views (replacing whatever they held). Parameter names must be
  // unique. model_dtype is what modules compute in: f32 (value is main) or bf16/f16 (value is a
  // view of a separate model copy, refreshed by sync_model_params).
  ParamBuffers(std::vector<Parameter*> params_in_forward_order, Device device,
               const ParamLayoutOptions& options = {}, DType model_dtype = DType::kF32);
  ParamBuffers(const ParamBuffers&) = delete;
  ParamBuffers& operator=(const ParamBuffers&) = delete;

  const std::vector<Parameter*>& parameters() const { return params_; }  // forward order
  const ParamLayout& layout() const { return layout_; }
  Device device() const { return device_; }
  DType model_dtype() const { return model_dtype_; }

  Tensor& params() { return params_buffer_; }  // (total_elems) f32; padding stays zero
  Tensor& grads() { return grads_buffer_; }    // (total_elems) f32; padding stays zero
  const Tensor& params() const { return params_buffer_; }
  const Tensor& grads() const { return grads_buffer_; }

  void zero_grads();
  // Rounds the fp32 main parameters into the model copy (one kernel); a no-op in f32. Call after
  // anything writes the main parameters: initialisation, a checkpoint load, an optimizer step.
  void sync_model_params();
  // The same for elements [begin, end) only: one bucket, once its parameter all-gather landed.
  void sync_model_params(int64_t begin, int64_t end);
  Parameter* find(const std::string& name) const;  // nullptr if absent
  // The slot (offset, bucket) of a parameter by name; nullptr if absent.
  const ParamSlot* slot(const std::string& name) const;

 private:
  std::vector<Parameter*> params_;
  Device device_;
  ParamLayout layout_;
  Tensor params_buffer_;
  Tensor grads_buffer_;
  DType model_dtype_;
  Tensor model_buffer_;  // (total_elems) in model_dtype_ when it is not f32, else undefined
  std::unordered_map<std::string, size_t> slot_by_name_;
};

}  // namespace me
