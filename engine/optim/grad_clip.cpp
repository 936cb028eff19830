// Gradient clipping through the element-wise kernels, so the same code runs on CUDA.
#include "engine/optim/grad_clip.h"

#include <cmath>

#include "kernels/elementwise.h"

namespace me {

void clip_grads(ParamBuffers& buffers, double clip_grad, double total_norm) {
  if (clip_grad <= 0) return;
  const double coeff = clip_grad / (total_norm + 1.0e-6);
  if (coeff < 1.0) scale(buffers.grads(), coeff);
}

}  // namespace me
