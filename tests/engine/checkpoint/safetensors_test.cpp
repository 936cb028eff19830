// safetensors reader/writer: round trips in f32/bf16/f16, files written by the Python safetensors
// package, every malformed-header case with its message, and sharded directories with an index.
#include "engine/checkpoint/safetensors.h"

#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/checkpoint/hf_weights.h"
#include "tests/support/process.h"

using me::testing::TempDir;

namespace {

const std::string kConvertDir = std::string(ME_TEST_DATA_DIR) + "/convert/";

// A file made by hand: 8-byte length, header text, then `data_bytes` zero bytes.
void write_raw(const std::string& path, const std::string& header, size_t data_bytes,
               uint64_t declared_len = UINT64_MAX) {
  std::ofstream out(path, std::ios::binary);
  const uint64_t len = declared_len == UINT64_MAX ? header.size() : declared_len;
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  out.write(bytes, 8);
  out << header << std::string(data_bytes, '\0');
}

std::string open_error(const std::string& path) {
  try {
    me::SafetensorsFile file(path);
  } catch (const me::Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("safetensors round trip keeps f32 bits and rounds to bf16 and f16 exactly once") {
  TempDir dir;
  const std::vector<float> a = {1.0f, -2.5f, 3.14159265f, 1e-3f, 65504.0f, -0.0f};
  const std::vector<float> b = {0.1f, 0.2f, 0.3f};
  const std::map<std::string, me::Tensor> tensors = {
      {"b.weight", me::Tensor::from_vector(b, {3})},
      {"a.weight", me::Tensor::from_vector(a, {2, 3})},
      {"scalar", me::Tensor::from_vector(std::vector<float>{7.0f}, {})}};
  me::write_safetensors(dir / "f32.safetensors", tensors, me::DType::kF32);
  me::SafetensorsFile f32(dir / "f32.safetensors");
  CHECK(f32.names() == std::vector<std::string>{"a.weight", "b.weight", "scalar"});
  CHECK(f32.metadata().at("format") == "pt");
  CHECK(f32.entry("a.weight").shape == me::Shape{2, 3});
  CHECK(f32.read("a.weight").to_vector<float>() == a);
  CHECK(f32.read("scalar").to_vector<float>() == std::vector<float>{7.0f});
  // Data in name order, right after the header.
  CHECK(f32.entry("a.weight").begin == 0);
  CHECK(f32.entry("b.weight").begin == 24);

  me::write_safetensors(dir / "bf16.safetensors", tensors, me::DType::kBF16);
  me::SafetensorsFile bf16(dir / "bf16.safetensors");
  CHECK(bf16.entry("a.weight").dtype == "BF16");
  CHECK(bf16.read_raw("a.weight").dtype() == me::DType::kBF16);
  const auto rounded = bf16.read("a.weight").to_vector<float>();
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(rounded[i] == static_cast<float>(me::BFloat16(a[i])));
  }
  CHECK(rounded[2] == 3.140625f);  // 0x4049: pi in bf16

  me::write_safetensors(dir / "f16.safetensors", tensors, me::DType::kF16);
  const auto halves =
      me::SafetensorsFile(dir / "f16.safetensors").read("a.weight").to_vector<float>();
  CHECK(halves[2] == 3.140625f);  // 0x4248: pi in fp16
  CHECK(halves[4] == 65504.0f);
}

TEST_CASE("safetensors header is padded with spaces to 8 bytes and parses as JSON") {
  TempDir dir;
  me::write_safetensors(dir / "t.safetensors",
                        {{"x", me::Tensor::from_vector(std::vector<float>{1, 2, 3}, {3})}},
                        me::DType::kF32);
  std::ifstream in(dir / "t.safetensors", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint64_t len = 0;
  std::memcpy(&len, bytes.data(), 8);
  CHECK(len % 8 == 0);
  CHECK(bytes.size() == 8 + len + 12);
  const std::string header = bytes.substr(8, len);
  const auto j = nlohmann::json::parse(header);
  CHECK(j["x"]["dtype"] == "F32");
  CHECK(j["x"]["data_offsets"] == nlohmann::json::array({0, 12}));
  const std::string padding = header.substr(header.rfind('}') + 1);
  CHECK(padding.size() < 8);
  CHECK(padding == std::string(padding.size(), ' '));
}

TEST_CASE("safetensors reads what Python's safetensors wrote") {
  // transformers' save_pretrained output: 28 GPT-2 tensors, f32 and bf16 (values checked by the
  // conversion tests against transformers' logits).
  me::SafetensorsFile f32(kConvertDir + "gpt2/model.safetensors");
  CHECK(f32.names().size() == 28);
  CHECK(f32.entry("transformer.wte.weight").shape == me::Shape{700, 32});
  me::SafetensorsFile bf16(kConvertDir + "gpt2_bf16/model.safetensors");
  CHECK(bf16.entry("transformer.h.0.attn.c_attn.weight").dtype == "BF16");
  CHECK(bf16.read("transformer.h.0.attn.c_attn.weight").shape() == me::Shape{32, 96});
}

TEST_CASE("malformed safetensors files are errors naming the file and the tensor") {
  TempDir dir;
  const std::string p = dir / "bad.safetensors";
  const std::string f32x2 = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";

  std::ofstream(p, std::ios::binary | std::ios::trunc) << "abc";  // shorter than the length
  std::string e = open_error(p);
  CHECK(contains(e, p));
  CHECK(contains(e, "truncated safetensors file (3 bytes"));

  write_raw(p, "{" + f32x2 + "}", 8, 1000);
  CHECK(contains(open_error(p), "header length 1000 runs past the end of the file"));

  write_raw(p, "{\"w\": [1, 2", 0);
  CHECK(contains(open_error(p), "header is not valid JSON"));

  write_raw(p, R"({"w":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", 8);
  e = open_error(p);
  CHECK(contains(e, p));
  CHECK(contains(e, "tensor 'w' has unknown dtype 'Q7'"));

  write_raw(p, R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8);
  CHECK(contains(open_error(p),
                 "tensor 'w' (F32 [3]) needs 12 bytes but data_offsets [0, 8] hold 8"));

  write_raw(p, "{" + f32x2 + R"(,"v":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12);
  CHECK(contains(open_error(p), "tensor 'v' data_offsets [4, 12] overlap the previous tensor"));

  write_raw(p, R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12);
  CHECK(contains(open_error(p), "tensor 'w' data_offsets [4, 12] leave a gap"));

  write_raw(p, "{" + f32x2 + "}", 12);
  CHECK(contains(open_error(p), "tensors cover 8 data bytes but the file holds 12"));

  write_raw(p, R"({"w":{"dtype":"F32","shape":[2]}})", 8);
  CHECK(contains(open_error(p), "tensor 'w' needs dtype, shape and data_offsets"));

  write_raw(p, R"({"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", 8);
  me::SafetensorsFile ints(p);
  try {
    (void)ints.read("w");
    FAIL("I64 read as a float tensor");
  } catch (const me::Error& err) {
    CHECK(contains(err.what(), "tensor 'w'"));
    CHECK(contains(err.what(), "dtype 'I64' is not supported"));
  }
  CHECK_THROWS_WITH_AS(ints.read("nothing"), doctest::Contains("no tensor 'nothing'"), me::Error);
  CHECK(contains(open_error(dir / "absent.safetensors"), "cannot open safetensors file"));
}

TEST_CASE("sharded weights are cut by size, indexed and read back") {
  TempDir dir;
  std::map<std::string, me::Tensor> tensors;
  for (int i = 0; i < 5; ++i) {
    std::vector<float> v(10);
    for (int j = 0; j < 10; ++j) v[static_cast<size_t>(j)] = static_cast<float>(i * 10 + j);
    tensors["t" + std::to_string(i)] = me::Tensor::from_vector(v, {10});
  }
  // 40 bytes each, 100-byte shards: {t0, t1}, {t2, t3}, {t4}.
  const auto files = me::write_hf_weights(dir.path().string(), tensors, me::DType::kF32, 100);
  CHECK(files == std::vector<std::string>{
                     "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                     "model-00003-of-00003.safetensors", "model.safetensors.index.json"});
  std::ifstream in(dir / "model.safetensors.index.json");
  const auto index = nlohmann::json::parse(in);
  CHECK(index["metadata"]["total_size"] == 200);
  CHECK(index["weight_map"]["t3"] == "model-00002-of-00003.safetensors");
  const me::HfWeights weights(dir.path().string());
  CHECK(weights.names().size() == 5);
  CHECK(weights.read("t4").to_vector<float>() == tensors["t4"].to_vector<float>());
  CHECK_THROWS_WITH_AS(weights.read("t9"), doctest::Contains("missing tensor 't9'"), me::Error);

  // Everything fits: one model.safetensors, and the stale index is gone.
  CHECK(me::write_hf_weights(dir.path().string(), tensors, me::DType::kF32) ==
        std::vector<std::string>{"model.safetensors"});
  CHECK(!std::filesystem::exists(dir / "model.safetensors.index.json"));

  // transformers' own sharded Llama fixture.
  const me::HfWeights llama(kConvertDir + "llama");
  CHECK(llama.contains("model.layers.1.mlp.down_proj.weight"));
  CHECK(llama.contains("lm_head.weight"));
}

TEST_CASE("an index that disagrees with its shards is an error naming the tensor") {
  TempDir dir;
  me::write_safetensors(dir / "a.safetensors",
                        {{"x", me::Tensor::from_vector(std::vector<float>{1}, {1})},
                         {"y", me::Tensor::from_vector(std::vector<float>{2}, {1})}},
                        me::DType::kF32);
  std::ofstream(dir / "model.safetensors.index.json")
      << R"({"weight_map": {"x": "a.safetensors", "z": "a.safetensors"}})";
  CHECK_THROWS_WITH_AS(me::HfWeights(dir.path().string()),
                       doctest::Contains("weight_map puts tensor 'z' in a.safetensors"), me::Error);
  std::ofstream(dir / "model.safetensors.index.json", std::ios::trunc)
      << R"({"weight_map": {"x": "a.safetensors"}})";
  CHECK_THROWS_WITH_AS(me::HfWeights(dir.path().string()),
                       doctest::Contains("tensor 'y' is in a.safetensors but not in weight_map"),
                       me::Error);
  std::filesystem::remove(dir / "model.safetensors.index.json");
  CHECK_THROWS_WITH_AS(me::HfWeights(dir.path().string()),
                       doctest::Contains("no model.safetensors"), me::Error);
}
