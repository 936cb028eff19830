// Standalone parameter binding for module tests.
#include "tests/support/standalone_parameters.h"

#include "engine/core/philox.h"

namespace me::test {

void bind_standalone(const std::vector<Parameter*>& params, DType dtype, uint64_t seed) {
  for (Parameter* p : params) {
    p->value = Tensor::empty(p->shape, dtype);
    p->main = p->value;  // one precision: the modules compute with the main value itself
    p->grad = Tensor::zeros(p->shape, dtype);
    initialize_parameter(*p, seed);
  }
}

void randomize_values(const std::vector<Parameter*>& params, double std, uint64_t seed) {
  for (Parameter* p : params) {
    Tensor host = Tensor::empty(p->shape, DType::kF64);
    double* data = host.data<double>();
    const uint64_t stream = rng_stream(p->name, 1);
    for (int64_t i = 0; i < p->numel(); ++i) {
      data[i] = std * philox_normal(seed, stream, static_cast<uint64_t>(i));
      if (p->init.kind == ParamInit::Kind::kOnes) data[i] += 1.0;
    }
    p->main.copy_from(host.cast(p->main.dtype()).to(p->main.device()));
  }
}

void zero_grads(const std::vector<Parameter*>& params) {
  for (Parameter* p : params) p->grad.zero_();
}

}  // namespace me::test
