// Test support for Hugging Face parity fixtures (scripts/fixtures/make_*_fixture.py): loading the
// weights, batch and expected outputs, and checking a model's loss, gradients and logits.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/models/model.h"

namespace me::test {

// NAME.json (config, tokens, labels, loss_mask, loss, num_tokens, tensor index) and NAME.bin
// (float32 values): "weight/<our name>", "grad/<our name>" and "logits".
struct HfFixture {
  nlohmann::json meta;
  std::vector<float> values;

  const nlohmann::json& config() const { return meta["config"]; }
  // The tensor under `key`; REQUIREs that it exists with exactly `expected_shape`.
  std::vector<float> tensor(const std::string& key, const Shape& expected_shape) const;
};

// `name` relative to tests/data, e.g. "gpt2/gpt2_tied".
HfFixture load_hf_fixture(const std::string& name);

// Tolerance of an fp32 run against the float64 reference: |ours - ref| <= abs + rel * |ref|.
struct ParityTolerance {
  double abs = 1e-5;
  double rel = 1e-4;
};

// Counts elements outside tolerance and reports the worst one.
void expect_all_close(const std::string& what, const std::vector<float>& ours,
                      const std::vector<float>& ref, const ParityTolerance& tol);

// Binds the model's parameters (f32, standalone), loads every "weight/<name>" (the fixture must
// hold exactly the model's parameters), runs forward and backward on the fixture's batch
// (positions 0..T-1) and checks the loss, the token count, every gradient and the logits.
void check_hf_parity(Model& model, const HfFixture& fixture, int64_t vocab,
                     const ParityTolerance& tol);

}  // namespace me::test
