// The generation loop: logits of the last position -> sample -> append.
#include "engine/inference/generator.h"

#include <algorithm>

namespace me {

std::vector<int32_t> generate(Model& model, Device device, const GenerationRequest& request) {
  ME_CHECK(request.max_positions > 0 && request.vocab_size > 0, "generation needs model sizes");
  if (request.prompt.empty()) throw Error("the prompt encodes to no tokens", "--prompt");
  std::vector<int32_t> context = request.prompt;
  std::vector<int32_t> generated;
  for (int64_t step = 0; step < request.tokens_to_generate; ++step) {
    const int64_t length =
        std::min<int64_t>(static_cast<int64_t>(context.size()), request.max_positions);
    const std::vector<int32_t> window(context.end() - length, context.end());
    const Tensor tokens = Tensor::from_vector(window, {1, length}, device);
    const Tensor logits = model.logits(tokens).to(Device::cpu());  // (1, T, V)
    const int64_t vocab = logits.dim(-1);
    const float* last = logits.data<float>() + (length - 1) * vocab;
    const int32_t next = sample_token({last, static_cast<size_t>(request.vocab_size)},
                                      request.sampling, static_cast<uint64_t>(context.size()));
    if (request.stop_token && next == *request.stop_token) break;
    generated.push_back(next);
    context.push_back(next);
  }
  return generated;
}

}  // namespace me
