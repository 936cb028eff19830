// The flat fp32 parameter and gradient buffers of one model chunk. Every Parameter's value and
// grad become views into them, so the optimizer, clipping, scaling, reduces and checkpoints walk
// two contiguous tensors instead of many small ones.
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
  // Plans the layout, allocates both buffers zero-filled on `device` and binds every parameter's
  // value and grad to its views (replacing whatever they held). Parameter names must be unique.
  ParamBuffers(std::vector<Parameter*> params_in_forward_order, Device device,
               const ParamLayoutOptions& options = {});
  ParamBuffers(const ParamBuffers&) = delete;
  ParamBuffers& operator=(const ParamBuffers&) = delete;

  const std::vector<Parameter*>& parameters() const { return params_; }  // forward order
  const ParamLayout& layout() const { return layout_; }
  Device device() const { return device_; }

  Tensor& params() { return params_buffer_; }  // (total_elems) f32; padding stays zero
  Tensor& grads() { return grads_buffer_; }    // (total_elems) f32; padding stays zero
  const Tensor& params() const { return params_buffer_; }
  const Tensor& grads() const { return grads_buffer_; }

  void zero_grads();
  Parameter* find(const std::string& name) const;  // nullptr if absent
  // The slot (offset, bucket) of a parameter by name; nullptr if absent.
  const ParamSlot* slot(const std::string& name) const;

 private:
  std::vector<Parameter*> params_;
  Device device_;
  ParamLayout layout_;
  Tensor params_buffer_;
  Tensor grads_buffer_;
  std::unordered_map<std::string, size_t> slot_by_name_;
};

}  // namespace me
