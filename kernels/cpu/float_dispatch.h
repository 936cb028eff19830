// Runs a generic lambda with the C++ type of an f32/f64 tensor, so each CPU loop is written once
// as a template and instantiated for float (training) and double (gradient checks).
#pragma once

#include "engine/core/dtype.h"
#include "engine/core/error.h"

namespace me::cpu {

// fn receives a value of the element type: fn(float{}) or fn(double{}).
template <typename Fn>
void dispatch_float(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::kF32:
      fn(float{});
      return;
    case DType::kF64:
      fn(double{});
      return;
    default:
      ME_CHECK(false, "CPU kernel called with {}", dtype_name(dtype));
  }
}

}  // namespace me::cpu
