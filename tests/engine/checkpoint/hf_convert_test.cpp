// Hugging Face import/export against transformers: imported GPT-2 and Llama give the logits
// transformers computed (scripts/fixtures/make_hf_convert_fixture.py), HF -> ours -> HF and
// ours -> HF -> ours are bitwise identical, and bad inputs are errors naming the tensor or key.
#include "engine/checkpoint/hf_convert.h"
#include "engine/models/causal_lm.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/checkpoint/checkpoint.h"
#include "engine/models/model.h"
#include "engine/optim/param_buffers.h"
#include "engine/parallel/communicator.h"
#include "tests/support/process.h"

namespace fs = std::filesystem;
using me::testing::TempDir;

namespace {

const std::string kConvertDir = std::string(ME_TEST_DATA_DIR) + "/convert/";

// A checkpoint's model with its parameters loaded.
struct LoadedModel {
  me::Recipe recipe;
  std::unique_ptr<me::Model> model;
  std::unique_ptr<me::ParamBuffers> buffers;
};

LoadedModel load(const std::string& root) {
  const auto found = me::find_checkpoint(root);
  REQUIRE(found);
  const me::CheckpointManifest manifest = me::read_manifest(*found);
  LoadedModel m{me::parse_recipe(manifest.recipe_yaml, *found), nullptr, nullptr};
  m.model = me::ModelRegistry::instance().create(m.recipe.model.type, m.recipe,
                                                 manifest.state.padded_vocab_size);
  m.buffers = std::make_unique<me::ParamBuffers>(m.model->parameters(), me::Device::cpu());
  me::load_checkpoint(manifest, *m.buffers, nullptr, me::Topology::build(m.recipe, 1, 0));
  return m;
}

// Our logits for the fixture's tokens against transformers' (float64, rounded to f32).
void check_logits(const std::string& fixture, const std::string& ckpt) {
  LoadedModel m = load(ckpt);
  const me::SafetensorsFile expected(kConvertDir + fixture + "/expected.safetensors");
  const me::Tensor tokens_f = expected.read("tokens");
  std::vector<int32_t> ids;
  for (float t : tokens_f.to_vector<float>()) ids.push_back(static_cast<int32_t>(t));
  const me::Tensor tokens = me::Tensor::from_vector(ids, tokens_f.shape());
  const me::Tensor ours_t = m.model->causal_lm()->logits(tokens);
  const me::Tensor ref_t = expected.read("logits");
  const auto ours = ours_t.to_vector<float>();
  const auto ref = ref_t.to_vector<float>();
  // Our vocabulary may be padded: padding columns come from zero rows, so their logits are 0.
  const size_t v = static_cast<size_t>(ref_t.dim(-1)), padded = static_cast<size_t>(ours_t.dim(-1));
  REQUIRE(ours.size() / padded == ref.size() / v);
  double max_err = 0, max_ref = 0, max_pad = 0;
  for (size_t i = 0; i < ref.size() / v; ++i) {
    for (size_t j = 0; j < padded; ++j) {
      const double x = ours[i * padded + j];
      if (j >= v) {
        max_pad = std::max(max_pad, std::fabs(x));
        continue;
      }
      max_err = std::max(max_err, std::fabs(x - ref[i * v + j]));
      max_ref = std::max(max_ref, static_cast<double>(std::fabs(ref[i * v + j])));
    }
  }
  CHECK(max_pad == 0.0);
  MESSAGE(fixture << ": max |logit| " << max_ref << ", max error " << max_err);
  CHECK(max_ref > 0.1);  // a real signal, not zeros
  CHECK(max_err < 2e-5);
}

// Every tensor in two HF directories: same names, same dtype, same bytes.
void check_bitwise_equal(const std::string& a_dir, const std::string& b_dir) {
  const me::HfWeights a(a_dir), b(b_dir);
  REQUIRE(a.names() == b.names());
  for (const auto& name : a.names()) {
    CAPTURE(name);
    CHECK(a.stored_dtype(name) == b.stored_dtype(name));
    const me::Tensor x = a.read(name), y = b.read(name);
    REQUIRE(x.shape() == y.shape());
    CHECK(std::memcmp(x.raw_data(), y.raw_data(), x.nbytes()) == 0);
  }
}

std::string convert_error(const std::string& hf_dir, const std::string& ckpt) {
  try {
    me::import_hf_checkpoint(hf_dir, ckpt);
  } catch (const me::Error& e) {
    return e.what();
  }
  return "";
}

// A copy of the GPT-2 fixture whose weights or config a test then breaks.
void copy_fixture(const std::string& name, const std::string& to) {
  fs::copy(kConvertDir + name, to, fs::copy_options::recursive);
}

}  // namespace

TEST_CASE("imported GPT-2 gives transformers' logits and exports bitwise identical") {
  TempDir dir;
  const std::string iter = me::import_hf_checkpoint(kConvertDir + "gpt2", dir / "ckpt");
  CHECK(fs::exists(fs::path(iter) / "tokenizer.json"));
  CHECK(fs::exists(fs::path(iter) / "hf_config.json"));
  check_logits("gpt2", dir / "ckpt");
  const me::CheckpointManifest manifest = me::read_manifest(iter);
  CHECK(manifest.state.iteration == 0);
  CHECK(manifest.state.padded_vocab_size == 700);
  CHECK(manifest.state.tokenizer_type == "HuggingFaceTokenizer");
  CHECK(!manifest.has_optimizer);

  me::export_hf_checkpoint(dir / "ckpt", dir / "hf");
  check_bitwise_equal(kConvertDir + "gpt2", dir / "hf");
  std::ifstream in(dir / "hf/config.json");
  const auto config = nlohmann::json::parse(in);
  CHECK(config["architectures"][0] == "GPT2LMHeadModel");
  CHECK(config["vocab_size"] == 700);
  CHECK(config["n_inner"] == 128);
  CHECK(config["eos_token_id"] == 0);  // carried from the original config
  for (const char* file : {"tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json"}) {
    CHECK_MESSAGE(fs::exists(dir / (std::string("hf/") + file)), file);
  }
}

TEST_CASE("GPT-2 imported with a padded vocabulary keeps its logits and exports without padding") {
  TempDir dir;
  me::HfImportOptions options;
  options.make_vocab_size_divisible_by = 128;
  me::import_hf_checkpoint(kConvertDir + "gpt2", dir / "ckpt", options);
  const LoadedModel m = load(dir / "ckpt");
  CHECK(m.recipe.model.padded_vocab_size == 768);
  CHECK(m.recipe.tokenizer.vocab_size == 700);
  check_logits("gpt2", dir / "ckpt");
  me::export_hf_checkpoint(dir / "ckpt", dir / "hf");
  check_bitwise_equal(kConvertDir + "gpt2", dir / "hf");
}

TEST_CASE("a bf16 GPT-2 round trips bitwise in bf16 and can be sharded") {
  TempDir dir;
  me::import_hf_checkpoint(kConvertDir + "gpt2_bf16", dir / "ckpt");
  me::export_hf_checkpoint(dir / "ckpt", dir / "hf");  // dtype auto: bfloat16 from config.json
  check_bitwise_equal(kConvertDir + "gpt2_bf16", dir / "hf");
  me::HfExportOptions sharded;
  sharded.max_shard_bytes = 20000;
  me::export_hf_checkpoint(dir / "ckpt", dir / "hf_sharded", sharded);
  CHECK(fs::exists(dir / "hf_sharded/model.safetensors.index.json"));
  CHECK(!fs::exists(dir / "hf_sharded/model.safetensors"));
  int shards = 0;
  for (const auto& entry : fs::directory_iterator(dir / "hf_sharded")) {
    shards += entry.path().extension() == ".safetensors";
  }
  CHECK(shards == 4);  // 57088 bytes of bf16, cut between tensors (name order) at 20000
  check_bitwise_equal(kConvertDir + "gpt2_bf16", dir / "hf_sharded");
  me::HfExportOptions f32;
  f32.dtype = "f32";
  me::export_hf_checkpoint(dir / "ckpt", dir / "hf_f32", f32);
  const me::HfWeights widened(dir / "hf_f32");
  CHECK(widened.stored_dtype("transformer.wte.weight") == me::DType::kF32);
}

// Saves our own randomly initialised model of `model_yaml` (100 real tokens padded to 128 rows),
// exports it, imports the export and checks every parameter bitwise.
void check_ours_hf_ours(const std::string& model_yaml, const std::string& embedding_name,
                        const std::string& expected_architecture) {
  TempDir dir;
  const me::Recipe recipe = me::parse_recipe("model:\n" + model_yaml + R"(  seq_length: 8
  max_position_embeddings: 8
  padded_vocab_size: 128
data:
  mock_data: true
tokenizer:
  vocab_size: 100
train:
  micro_batch_size: 1
  train_iters: 1
optimizer:
  lr: 0.001
)",
                                             "<test>");
  auto model = me::ModelRegistry::instance().create("gpt", recipe, 128);
  me::ParamBuffers buffers(model->parameters(), me::Device::cpu());
  for (me::Parameter* p : buffers.parameters()) me::initialize_parameter(*p, 5);
  me::TrainingState state;
  state.padded_vocab_size = 128;
  me::SelfCommunicator comm;
  me::save_checkpoint(dir / "ours", recipe, state, buffers, nullptr,
                      me::Topology::build(recipe, 1, 0), comm);

  me::export_hf_checkpoint(dir / "ours", dir / "hf");
  std::ifstream in(dir / "hf/config.json");
  CHECK(nlohmann::json::parse(in)["architectures"][0] == expected_architecture);
  CHECK(me::HfWeights(dir / "hf").read(embedding_name).shape() == me::Shape{100, 16});
  me::import_hf_checkpoint(dir / "hf", dir / "back");
  LoadedModel back = load(dir / "back");
  me::ModelConfig expected = recipe.model;
  expected.padded_vocab_size = 100;  // the real vocabulary: HF has no padding rows
  CHECK(back.recipe.model == expected);
  REQUIRE(back.buffers->parameters().size() == buffers.parameters().size());
  for (me::Parameter* p : buffers.parameters()) {
    CAPTURE(p->name);
    const me::Parameter* q = back.buffers->find(p->name);
    REQUIRE(q);
    if (p->name == "embedding.word_embeddings.weight" || p->name == "output_layer.weight") {
      REQUIRE(q->shape == me::Shape{100, 16});  // padding rows dropped
      CHECK(std::memcmp(q->value.raw_data(), p->value.raw_data(), 100 * 16 * 4) == 0);
    } else {
      REQUIRE(q->shape == p->shape);
      CHECK(std::memcmp(q->value.raw_data(), p->value.raw_data(), p->value.nbytes()) == 0);
    }
  }
}

TEST_CASE("ours to HF to ours is bitwise identical for an untied GPT-2") {
  check_ours_hf_ours(R"(  type: gpt
  num_layers: 2
  hidden_size: 16
  ffn_hidden_size: 64
  num_attention_heads: 2
  untie_embeddings_and_output_weights: true
)",
                     "transformer.wte.weight", "GPT2LMHeadModel");
}

TEST_CASE("ours to HF to ours is bitwise identical for a tied Llama with GQA and RoPE scaling") {
  check_ours_hf_ours(R"(  type: gpt
  num_layers: 2
  hidden_size: 16
  ffn_hidden_size: 24
  num_attention_heads: 4
  group_query_attention: true
  num_query_groups: 2
  kv_channels: 4
  position_embedding_type: rope
  rotary_base: 500000
  use_rope_scaling: true
  rope_scaling_factor: 8.0
  rope_scaling_original_max_position_embeddings: 4
  normalization: RMSNorm
  swiglu: true
  add_bias_linear: false
  untie_embeddings_and_output_weights: false
  hidden_dropout: 0.0
)",
                     "model.embed_tokens.weight", "LlamaForCausalLM");
}

TEST_CASE("unsupported architectures and mismatched weights are errors naming them") {
  TempDir dir;
  copy_fixture("gpt2", dir / "bert");
  {
    std::ifstream in(dir / "bert/config.json");
    auto config = nlohmann::json::parse(in);
    config["architectures"] = {"BertForMaskedLM"};
    std::ofstream(dir / "bert/config.json", std::ios::trunc) << config.dump();
  }
  std::string e = convert_error(dir / "bert", dir / "c1");
  CHECK(e.find("architecture 'BertForMaskedLM' is not supported") != std::string::npos);
  CHECK(e.find("GPT2LMHeadModel, LlamaForCausalLM") != std::string::npos);

  copy_fixture("gpt2", dir / "wide");
  {
    std::ifstream in(dir / "wide/config.json");
    auto config = nlohmann::json::parse(in);
    config["n_positions"] = 64;
    std::ofstream(dir / "wide/config.json", std::ios::trunc) << config.dump();
  }
  e = convert_error(dir / "wide", dir / "c2");
  CHECK(e.find("tensor 'transformer.wpe.weight' has shape [32, 32] but config.json implies "
               "[64, 32]") != std::string::npos);

  copy_fixture("gpt2", dir / "gelu");
  {
    std::ifstream in(dir / "gelu/config.json");
    auto config = nlohmann::json::parse(in);
    config["activation_function"] = "relu";
    std::ofstream(dir / "gelu/config.json", std::ios::trunc) << config.dump();
  }
  CHECK(convert_error(dir / "gelu", dir / "c3")
            .find("activation_function = \"relu\" is not "
                  "supported") != std::string::npos);

  // Weights missing one tensor, and with one too many.
  const me::HfWeights original(kConvertDir + "gpt2");
  std::map<std::string, me::Tensor> tensors;
  for (const auto& name : original.names()) tensors[name] = original.read(name);
  copy_fixture("gpt2", dir / "missing");
  auto fewer = tensors;
  fewer.erase("transformer.h.1.mlp.c_fc.bias");
  me::write_safetensors(dir / "missing/model.safetensors", fewer, me::DType::kF32);
  CHECK(convert_error(dir / "missing", dir / "c4")
            .find("missing tensor 'transformer.h.1.mlp.c_fc.bias'") != std::string::npos);
  copy_fixture("gpt2", dir / "extra");
  auto more = tensors;
  more["transformer.h.2.ln_1.weight"] = tensors["transformer.ln_f.weight"];
  me::write_safetensors(dir / "extra/model.safetensors", more, me::DType::kF32);
  CHECK(convert_error(dir / "extra", dir / "c5")
            .find("unexpected tensor(s) this architecture does not have: "
                  "transformer.h.2.ln_1.weight") != std::string::npos);
  CHECK(!fs::exists(dir / "c5"));
}

TEST_CASE(
    "imported Llama with GQA and RoPE scaling from shards gives transformers' logits and round "
    "trips") {
  TempDir dir;
  me::import_hf_checkpoint(kConvertDir + "llama", dir / "ckpt");
  const LoadedModel m = load(dir / "ckpt");
  CHECK(m.recipe.model.num_query_groups == 2);
  CHECK(m.recipe.model.swiglu);
  CHECK(m.recipe.model.untie_embeddings_and_output_weights);
  CHECK(m.recipe.model.use_rope_scaling);  // llama3 rope_type, factor 8, from 16 positions
  CHECK(m.recipe.model.rope_scaling_factor == 8.0);
  CHECK(m.recipe.model.rope_scaling_original_max_position_embeddings == 16);
  check_logits("llama", dir / "ckpt");
  me::export_hf_checkpoint(dir / "ckpt", dir / "hf");
  check_bitwise_equal(kConvertDir + "llama", dir / "hf");
}

TEST_CASE("imported Qwen2 with qkv biases and tied embeddings gives transformers' logits") {
  TempDir dir;
  me::import_hf_checkpoint(kConvertDir + "qwen2", dir / "ckpt");
  const LoadedModel m = load(dir / "ckpt");
  CHECK(m.recipe.model.add_qkv_bias);
  CHECK(!m.recipe.model.add_bias_linear);
  CHECK(!m.recipe.model.untie_embeddings_and_output_weights);
  CHECK(m.recipe.model.rotary_base == 1000000);
  check_logits("qwen2", dir / "ckpt");
  me::export_hf_checkpoint(dir / "ckpt", dir / "hf");
  std::ifstream in(dir / "hf/config.json");
  CHECK(nlohmann::json::parse(in)["architectures"][0] == "Qwen2ForCausalLM");
  check_bitwise_equal(kConvertDir + "qwen2", dir / "hf");
}

TEST_CASE("a tokenizer our code cannot load does not stop the weights from converting") {
  TempDir dir;
  copy_fixture("gpt2", dir / "odd");
  std::ofstream(dir / "odd/tokenizer.json", std::ios::trunc) << R"({"model": {"type": "Unigram"}})";
  const std::string iter = me::import_hf_checkpoint(dir / "odd", dir / "ckpt");
  CHECK(me::read_manifest(iter).state.tokenizer_type.empty());
  check_logits("gpt2", dir / "ckpt");
  me::HfImportOptions named;
  named.tokenizer_type = "HuggingFaceTokenizer";
  CHECK_THROWS_AS(me::import_hf_checkpoint(dir / "odd", dir / "ckpt2", named), me::Error);
  // Without tokenizer files (the Llama fixture) the checkpoint names no tokenizer either.
  me::import_hf_checkpoint(kConvertDir + "llama", dir / "llama");
  CHECK(me::read_manifest(dir / "llama/iter_0000000").state.tokenizer_type.empty());
}

TEST_CASE("GPT-2 weights saved as on the hub import too") {
  // openai-community/gpt2's model.safetensors comes from GPT2Model: no "transformer." prefix, and
  // the causal-mask buffers h.N.attn.bias stored beside the weights.
  TempDir dir;
  copy_fixture("gpt2", dir / "hub");
  const me::HfWeights original(kConvertDir + "gpt2");
  std::map<std::string, me::Tensor> tensors;
  for (const auto& name : original.names()) {
    tensors[name.substr(std::string("transformer.").size())] = original.read(name);
  }
  for (int i = 0; i < 2; ++i) {
    tensors[fmt::format("h.{}.attn.bias", i)] = me::Tensor::zeros({1, 1, 32, 32}, me::DType::kF32);
  }
  me::write_safetensors(dir / "hub/model.safetensors", tensors, me::DType::kF32);
  me::import_hf_checkpoint(dir / "hub", dir / "ckpt");
  check_logits("gpt2", dir / "ckpt");
}
