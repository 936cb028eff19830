// LayerStack: a pipeline rank's chunks of a stack hold their layers under global names, run
// chunk by chunk, and tell the context's observer as each layer starts forward and ends backward.
#include "engine/nn/layer_stack.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "engine/models/transformer_config.h"
#include "tests/support/standalone_parameters.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

struct Log final : ModuleObserver {
  std::vector<std::string> events;
  void before_forward(Module& m) override { events.push_back("forward " + m.name()); }
  void after_backward(Module& m) override { events.push_back("backward " + m.name()); }
};

TEST_CASE("a stack holds its chunks' layers by global name and runs one chunk at a time") {
  const LayerConfig config = layer_config(test::tiny_gpt_recipe());
  std::vector<int64_t> built;
  LayerStack stack("decoder.layers", {{1, 3}, {5, 6}}, {}, [&](int64_t i, const std::string& name) {
    built.push_back(i);
    return LayerRegistry::instance().create("transformer_layer", name, config);
  });
  CHECK(built == std::vector<int64_t>{1, 2, 5});
  CHECK(stack.num_chunks() == 2);
  const auto params = stack.parameters();
  CHECK(params.front()->name == "decoder.layers.1.input_layernorm.weight");
  CHECK(params.back()->name == "decoder.layers.5.mlp.linear_fc2.bias");
  test::bind_standalone(params, DType::kF64, 3);
  Log log;
  MicroBatchContext ctx(true, 1, 0, 0);
  ctx.set_observer(&log);
  const Tensor x = Tensor::zeros({1, 2, 16}, DType::kF64);
  const Tensor y = stack.forward(0, x, ctx);
  stack.backward(0, y, ctx);
  CHECK(ctx.empty());
  CHECK(log.events ==
        std::vector<std::string>{"forward decoder.layers.1", "forward decoder.layers.2",
                                 "backward decoder.layers.2", "backward decoder.layers.1"});
  CHECK_THROWS(stack.forward(2, x, ctx));
}

}  // namespace
}  // namespace me
