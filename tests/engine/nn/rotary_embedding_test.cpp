// RotaryEmbedding: the rotated width from rotary_percent, channels beyond it untouched, the
// recipe's scaling reaching the frequencies, and a clear error for an odd rotated width.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/models/transformer_config.h"
#include "engine/nn/rotary_embedding.h"
#include "tests/support/grad_check.h"
#include "tests/support/tiny_recipe.h"

namespace me {
namespace {

TEST_CASE("rotary_embedding rotates rotary_percent of each head and passes the rest") {
  test::TinyGpt tiny;  // kv_channels 4
  tiny.position_embedding_type = "rope";
  tiny.rotary_percent = 0.5;
  const RotaryEmbedding rope(*layer_config(test::tiny_gpt_recipe(tiny)).attention.rotary);
  CHECK(rope.rotary_dim() == 2);
  // Rotating 2 of 4 channels with theta 10000: the pair (0, 1) turns by the position (inv_freq 1).
  Tensor x = Tensor::from_vector<double>({1, 0, 5, 6}, {1, 1, 1, 4});
  rope.forward(x, Tensor::from_vector<int32_t>({3}, {1, 1}));
  const auto y = x.to_vector<double>();
  CHECK(y[0] == doctest::Approx(std::cos(3.0)).epsilon(1e-15));
  CHECK(y[1] == doctest::Approx(std::sin(3.0)).epsilon(1e-15));
  CHECK(y[2] == 5.0);
  CHECK(y[3] == 6.0);
}

TEST_CASE("rotary_embedding applies use_rope_scaling from the recipe") {
  // kv_channels 4, theta 10000: inv_freq [1, 0.01], wavelengths 6.28 and 628. With original
  // context 64 and factor 8, 628 > 64 is divided by 8, 6.28 < 16 is kept.
  test::TinyGpt tiny;
  tiny.position_embedding_type = "rope";
  tiny.use_rope_scaling = true;
  tiny.rope_scaling_original_max_position_embeddings = 64;
  const RotaryEmbedding rope(*layer_config(test::tiny_gpt_recipe(tiny)).attention.rotary);
  Tensor x = Tensor::from_vector<double>({0, 1, 0, 0}, {1, 1, 1, 4});  // pairs (0, 2), (1, 3)
  rope.forward(x, Tensor::from_vector<int32_t>({100}, {1, 1}));
  const auto y = x.to_vector<double>();
  const double angle = 100 * 0.01 / 8;
  CHECK(y[1] == doctest::Approx(std::cos(angle)).epsilon(1e-12));
  CHECK(y[3] == doctest::Approx(std::sin(angle)).epsilon(1e-12));
}

TEST_CASE("rotary_embedding rejects an odd rotated width naming rotary_percent") {
  test::TinyGpt tiny;
  tiny.position_embedding_type = "rope";
  tiny.rotary_percent = 0.75;  // 3 of 4 channels
  CHECK_THROWS_WITH(layer_config(test::tiny_gpt_recipe(tiny)),
                    doctest::Contains("model.rotary_percent"));
}

}  // namespace
}  // namespace me
