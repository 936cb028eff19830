// The one op interface: every op the models call, each family in its own header. Each op checks
// shapes and dtypes once, then runs the CPU reference (kernels/cpu) or the CUDA version
// (kernels/cuda) by the tensors' device.
#pragma once

#include "kernels/attention.h"
#include "kernels/cross_entropy.h"
#include "kernels/dropout.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/gelu.h"
#include "kernels/layernorm.h"
#include "kernels/matmul.h"
#include "kernels/optimizer_update.h"
