// HF import: config.json -> recipe -> model -> parameters from safetensors -> save_checkpoint.
// HF export: manifest -> recipe -> model -> load_checkpoint -> safetensors + config.json.
#include "engine/checkpoint/hf_convert.h"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "datasets/tokenizer.h"
#include "engine/checkpoint/checkpoint.h"
#include "engine/checkpoint/hf_architecture.h"
#include "engine/models/model.h"
#include "datasets/padded_vocab.h"
#include "engine/optim/param_buffers.h"
#include "engine/parallel/communicator.h"

namespace me {
namespace fs = std::filesystem;
namespace {

// Tokenizer and generation files carried from an HF directory into the checkpoint and back.
constexpr const char* kCarriedFiles[] = {
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
    "merges.txt",     "tokenizer.model",       "generation_config.json"};
constexpr const char* kHfConfigCopy = "hf_config.json";

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in)
    throw Error("cannot open (a Hugging Face model directory needs config.json)", path.string());
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("not valid JSON: ") + e.what(), path.string());
  }
}

std::unique_ptr<HfArchitecture> architecture_of(const nlohmann::json& config,
                                                const std::string& where) {
  const auto& list = hf_config_value(config, "architectures", where);
  if (!list.is_array() || list.size() != 1 || !list[0].is_string()) {
    throw Error("'architectures' must list exactly one architecture", where);
  }
  const std::string name = list[0].get<std::string>();
  if (!HfArchitectureRegistry::instance().contains(name)) {
    throw Error(fmt::format("architecture '{}' is not supported (supported: {})", name,
                            fmt::join(HfArchitectureRegistry::instance().names(), ", ")),
                where);
  }
  return HfArchitectureRegistry::instance().create(name);
}

std::string tokenizer_type_for(const fs::path& hf_dir, const HfImportOptions& options) {
  if (!options.tokenizer_type.empty()) return options.tokenizer_type;
  if (fs::exists(hf_dir / "tokenizer.json")) return "HuggingFaceTokenizer";
  if (fs::exists(hf_dir / "vocab.json") && fs::exists(hf_dir / "merges.txt")) {
    return "GPT2BPETokenizer";
  }
  return "";
}

TokenizerFiles tokenizer_files(const std::string& type, const fs::path& dir) {
  TokenizerFiles files;
  if (type == "HuggingFaceTokenizer") files.tokenizer_model = (dir / "tokenizer.json").string();
  if (type == "GPT2BPETokenizer") {
    files.vocab_file = (dir / "vocab.json").string();
    files.merge_file = (dir / "merges.txt").string();
  }
  return files;
}

DType export_dtype(const std::string& flag, const nlohmann::json& hf_config) {
  std::string name = flag;
  if (name == "auto") {
    name = hf_config_or<std::string>(hf_config, "dtype",
                                     hf_config_or<std::string>(hf_config, "torch_dtype", "f32"));
  }
  if (name == "f32" || name == "float32") return DType::kF32;
  if (name == "bf16" || name == "bfloat16") return DType::kBF16;
  if (name == "f16" || name == "float16") return DType::kF16;
  throw Error("dtype '" + name + "' is not one of f32, bf16, f16, auto", "--dtype");
}

// Copies the HF tensors of hf_dir into our parameters (padding rows of the vocabulary stay zero).
void fill_parameters(const HfArchitecture& arch, const std::string& hf_dir, const Recipe& recipe,
                     ParamBuffers& buffers) {
  const int64_t vocab = *recipe.tokenizer.vocab_size;
  const int64_t padded = *recipe.model.padded_vocab_size;
  const HfWeights weights(hf_dir);
  HfTensorSource source(
      weights.names(), [&](const std::string& name) { return weights.read(name); }, hf_dir);
  std::set<std::string> filled;
  arch.to_ours(source, recipe, vocab, [&](const std::string& name, const Tensor& value) {
    Parameter* p = buffers.find(name);
    ME_CHECK(p && !filled.count(name), "HF tensor mapped to unknown or repeated parameter {}",
             name);
    Shape rows = p->shape;
    rows[0] = value.ndim() > 0 ? value.dim(0) : 0;
    ME_CHECK(value.shape() == rows && rows[0] <= p->shape[0] &&
                 (rows[0] == p->shape[0] || padded > vocab),
             "{}: mapped {} for {}", name, value.describe(), shape_str(p->shape));
    Tensor target = p->main.view(0, rows);
    target.copy_from(value);
    filled.insert(name);
  });
  source.finish();
  ME_CHECK(filled.size() == buffers.parameters().size(), "{} tensors mapped for {} parameters",
           filled.size(), buffers.parameters().size());
}

// Iteration 0, with the padded vocabulary and the tokenizer (type, sha256 of its files) recorded
// as training would, so generate and fine-tuning accept it.
TrainingState imported_state(const Recipe& recipe, const std::string& hf_dir,
                             const HfImportOptions& options) {
  TrainingState state;
  state.seed = recipe.train.seed;
  state.padded_vocab_size = *recipe.model.padded_vocab_size;
  const std::string type = tokenizer_type_for(hf_dir, options);
  if (type.empty()) return state;
  std::unique_ptr<Tokenizer> tokenizer;
  try {
    tokenizer = TokenizerRegistry::instance().create(type, tokenizer_files(type, hf_dir));
  } catch (const Error& e) {
    if (!options.tokenizer_type.empty()) throw;  // asked for by name: it must load
    // The weights convert regardless; generate then needs --tokenizer-type and its files.
    spdlog::warn("{}: the {} tokenizer does not load ({}); the checkpoint records no tokenizer",
                 hf_dir, type, e.what());
    return state;
  }
  if (tokenizer->vocab_size() > *recipe.tokenizer.vocab_size) {
    throw Error(fmt::format("the tokenizer has {} tokens but the model's vocab_size is {}",
                            tokenizer->vocab_size(), *recipe.tokenizer.vocab_size),
                hf_dir + "/config.json");
  }
  state.tokenizer_type = type;
  state.tokenizer_sha256 = tokenizer->files_sha256();
  return state;
}

void copy_into(const fs::path& from, const fs::path& to) {
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

}  // namespace

std::string hf_recipe_yaml(const std::string& hf_dir, const std::string& tokenizer_dir,
                           const HfImportOptions& options) {
  const fs::path config_path = fs::path(hf_dir) / "config.json";
  const nlohmann::json config = read_json(config_path);
  const auto arch = architecture_of(config, config_path.string());
  const int64_t vocab = hf_config_value(config, "vocab_size", config_path.string()).get<int64_t>();
  const int64_t padded = options.make_vocab_size_divisible_by > 0
                             ? padded_vocab_size(vocab, options.make_vocab_size_divisible_by, 1)
                             : vocab;
  // A converted model has no training settings; the required ones get placeholders (a fine-tune
  // recipe brings its own and checkpoint.load takes only the weights).
  std::string yaml = "model:\n" + arch->model_yaml(config, config_path.string()) +
                     fmt::format(
                         "  padded_vocab_size: {}\ndata:\n  mock_data: true\n"
                         "train:\n  micro_batch_size: 1\n  train_iters: 1\n"
                         "optimizer:\n  lr: 0.0\ntokenizer:\n  vocab_size: {}\n",
                         padded, vocab);
  const std::string type = tokenizer_type_for(hf_dir, options);
  if (!type.empty()) {
    const TokenizerFiles files = tokenizer_files(type, tokenizer_dir);
    yaml += "  tokenizer_type: " + type + "\n";
    // Paths are written as JSON strings, which YAML reads verbatim.
    if (files.tokenizer_model) {
      yaml += "  tokenizer_model: " + nlohmann::json(*files.tokenizer_model).dump() + "\n";
    }
    if (files.vocab_file)
      yaml += "  vocab_file: " + nlohmann::json(*files.vocab_file).dump() + "\n";
    if (files.merge_file)
      yaml += "  merge_file: " + nlohmann::json(*files.merge_file).dump() + "\n";
  }
  return yaml;
}

std::string import_hf_checkpoint(const std::string& hf_dir, const std::string& ckpt_root,
                                 const HfImportOptions& options) {
  const fs::path config_path = fs::path(hf_dir) / "config.json";
  const fs::path iter_dir = fs::absolute(fs::path(ckpt_root) / "iter_0000000");
  const Recipe recipe =
      parse_recipe(hf_recipe_yaml(hf_dir, iter_dir.string(), options), config_path.string());
  const nlohmann::json config = read_json(config_path);
  const auto arch = architecture_of(config, config_path.string());
  auto model =
      ModelRegistry::instance().create(recipe.model.type, recipe, *recipe.model.padded_vocab_size);
  ParamBuffers buffers(model->parameters(), Device::cpu());
  fill_parameters(*arch, hf_dir, recipe, buffers);
  const TrainingState state = imported_state(recipe, hf_dir, options);
  SelfCommunicator comm;
  save_checkpoint(ckpt_root, recipe, state, buffers, nullptr, Topology::build(recipe, 1, 0), comm);
  for (const char* name : kCarriedFiles) {
    if (fs::exists(fs::path(hf_dir) / name)) copy_into(fs::path(hf_dir) / name, iter_dir / name);
  }
  copy_into(config_path, iter_dir / kHfConfigCopy);
  spdlog::info("imported {} ({}) into {}", hf_dir, config["architectures"][0].get<std::string>(),
               iter_dir.string());
  return iter_dir.string();
}

namespace {

// The real vocabulary: rows past it are padding our model added and HF must not see. Taken from
// the flag, else the recipe's tokenizer.vocab_size (set by an import), else the tokenizer the
// checkpoint was trained with.
int64_t export_vocab_size(const Recipe& recipe, const TrainingState& state,
                          const HfExportOptions& options, int64_t padded_vocab) {
  int64_t vocab = padded_vocab;
  const std::string type = recipe.tokenizer.tokenizer_type.value_or(state.tokenizer_type);
  if (options.vocab_size) {
    vocab = *options.vocab_size;
  } else if (recipe.tokenizer.vocab_size) {
    vocab = *recipe.tokenizer.vocab_size;
  } else if (TokenizerRegistry::instance().contains(type)) {
    const TokenizerFiles files{recipe.tokenizer.vocab_file, recipe.tokenizer.merge_file,
                               recipe.tokenizer.tokenizer_model};
    try {
      vocab = TokenizerRegistry::instance().create(type, files)->vocab_size();
    } catch (const Error& e) {
      throw Error(fmt::format("cannot load the checkpoint's {} tokenizer to learn the vocabulary "
                              "size ({}); pass --vocab-size",
                              type, e.what()),
                  "--vocab-size");
    }
  }
  if (vocab < 1 || vocab > padded_vocab) {
    throw Error(fmt::format("vocabulary size {} is outside [1, {}] (the padded vocabulary)", vocab,
                            padded_vocab),
                "--vocab-size");
  }
  return vocab;
}

// Tokenizer files for the HF directory: the ones carried in the checkpoint, else the ones the
// recipe's tokenizer section names (under their HF file names).
void export_tokenizer_files(const Recipe& recipe, const fs::path& iter_dir,
                            const fs::path& hf_dir) {
  for (const char* name : kCarriedFiles) {
    if (fs::exists(iter_dir / name)) copy_into(iter_dir / name, hf_dir / name);
  }
  const std::pair<const std::optional<std::string>*, const char*> named[] = {
      {&recipe.tokenizer.tokenizer_model, "tokenizer.json"},
      {&recipe.tokenizer.vocab_file, "vocab.json"},
      {&recipe.tokenizer.merge_file, "merges.txt"}};
  for (const auto& [path, name] : named) {
    if (*path && fs::exists(**path) && !fs::exists(hf_dir / name)) copy_into(**path, hf_dir / name);
  }
}

}  // namespace

void export_hf_checkpoint(const std::string& ckpt, const std::string& hf_dir,
                          const HfExportOptions& options) {
  const auto found = find_checkpoint(ckpt);
  if (!found) throw Error("no checkpoint found there", ckpt);
  const CheckpointManifest manifest = read_manifest(*found);
  // Whatever layout it was saved at, the export builds and loads the whole model on one rank.
  const Topology one_rank;
  const Recipe recipe =
      checkpoint_recipe_for_layout(manifest, one_rank, false, *found + "/manifest.yaml");
  std::string arch_name;
  const HfArchitecture& arch = hf_architecture_for(recipe, &arch_name);
  const int64_t padded = manifest.state.padded_vocab_size;
  auto model = ModelRegistry::instance().create(recipe.model.type, recipe, padded);
  ParamBuffers buffers(model->parameters(), Device::cpu());
  load_checkpoint(manifest, buffers, nullptr, one_rank);
  std::map<std::string, Tensor> ours;
  for (Parameter* p : buffers.parameters()) ours[p->name] = p->main;
  const int64_t vocab = export_vocab_size(recipe, manifest.state, options, padded);

  const fs::path iter_dir(*found);
  nlohmann::json config = nlohmann::json::object();
  if (fs::exists(iter_dir / kHfConfigCopy)) config = read_json(iter_dir / kHfConfigCopy);
  const DType dtype = export_dtype(options.dtype, config);
  config.update(arch.config(recipe, vocab));
  // transformers 5 reads `dtype`, earlier versions `torch_dtype`; keep the key the model came with.
  const char* dtype_key = config.contains("dtype") ? "dtype" : "torch_dtype";
  config[dtype_key] = dtype == DType::kF32    ? "float32"
                      : dtype == DType::kBF16 ? "bfloat16"
                                              : "float16";
  fs::create_directories(hf_dir);
  write_hf_weights(hf_dir, arch.to_hf(ours, recipe, vocab), dtype, options.max_shard_bytes);
  {
    std::ofstream out(fs::path(hf_dir) / "config.json", std::ios::trunc);
    out << config.dump(2) << "\n";
    if (!out.flush()) throw Error("cannot write config.json", hf_dir);
  }
  export_tokenizer_files(recipe, iter_dir, hf_dir);
  spdlog::info("exported {} as {} ({} vocabulary rows, {}) into {}", *found, arch_name, vocab,
               dtype_name(dtype), hf_dir);
}

}  // namespace me
