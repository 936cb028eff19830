// `megatron-engine generate --load CKPT --prompt TEXT`: loads a checkpoint's model and tokenizer
// and prints the prompt followed by the sampled continuation.
#include <filesystem>
#include <iostream>

#include "datasets/tokenizer.h"
#include "engine/checkpoint/checkpoint.h"
#include "engine/cli/commands.h"
#include "engine/cli/flags.h"
#include "engine/inference/generator.h"
#include "engine/optim/param_buffers.h"
#include "engine/parallel/communicator.h"

namespace me {
namespace po = boost::program_options;
namespace {

// A tokenizer file the recipe names that is gone (the checkpoint was moved) but has a copy beside
// the manifest (convert --from hf carries the tokenizer files there): use the copy.
std::optional<std::string> beside_checkpoint(const std::optional<std::string>& path,
                                             const CheckpointManifest& manifest) {
  if (!path || std::filesystem::exists(*path)) return path;
  const auto local =
      std::filesystem::path(manifest.directory) / std::filesystem::path(*path).filename();
  return std::filesystem::exists(local) ? std::optional<std::string>(local.string()) : path;
}

std::unique_ptr<Tokenizer> checkpoint_tokenizer(const Recipe& recipe,
                                                const CheckpointManifest& manifest,
                                                const po::variables_map& vm) {
  const TrainingState& state = manifest.state;
  const std::string type =
      vm.count("tokenizer-type") ? vm["tokenizer-type"].as<std::string>() : state.tokenizer_type;
  TokenizerFiles files{beside_checkpoint(recipe.tokenizer.vocab_file, manifest),
                       beside_checkpoint(recipe.tokenizer.merge_file, manifest),
                       beside_checkpoint(recipe.tokenizer.tokenizer_model, manifest)};
  if (vm.count("vocab-file")) files.vocab_file = vm["vocab-file"].as<std::string>();
  if (vm.count("merge-file")) files.merge_file = vm["merge-file"].as<std::string>();
  if (vm.count("tokenizer-model")) files.tokenizer_model = vm["tokenizer-model"].as<std::string>();
  auto tokenizer = TokenizerRegistry::instance().create(type, files);
  if (tokenizer->files_sha256() != state.tokenizer_sha256) {
    throw Error(fmt::format("tokenizer files differ from the ones the model was trained with "
                            "(sha256 {} vs {})",
                            tokenizer->files_sha256(), state.tokenizer_sha256),
                "--tokenizer-model / --vocab-file");
  }
  return tokenizer;
}

}  // namespace

int generate_command(const std::vector<std::string>& args) {
  po::options_description options("megatron-engine generate");
  // clang-format off
  options.add_options()
      ("help", "this message")
      ("load", po::value<std::string>(), "checkpoint directory (its latest) or an iter_* directory")
      ("prompt", po::value<std::string>(), "text to continue")
      ("tokens-to-generate", po::value<int64_t>()->default_value(64), "new tokens to sample")
      ("temperature", po::value<double>()->default_value(1.0), "softmax temperature; 0 = greedy")
      ("top-k", po::value<int64_t>()->default_value(0), "sample among the k likeliest (0 = all)")
      ("top-p", po::value<double>()->default_value(0.0), "nucleus sampling mass (0 = off)")
      ("greedy", "always take the likeliest token (same as --temperature 0)")
      ("seed", po::value<uint64_t>()->default_value(1234), "random seed for sampling")
      ("device", po::value<std::string>()->default_value("cpu"), "cpu or cuda")
      ("tokenizer-type", po::value<std::string>(), "override the checkpoint's tokenizer type")
      ("vocab-file", po::value<std::string>(), "tokenizer vocab.json (GPT2BPETokenizer)")
      ("merge-file", po::value<std::string>(), "tokenizer merges.txt (GPT2BPETokenizer)")
      ("tokenizer-model", po::value<std::string>(), "tokenizer.json (HuggingFaceTokenizer)");
  // clang-format on
  const po::variables_map vm = parse_flags(options, args, "generate");
  if (vm.count("help")) {
    std::cout << options;
    return 0;
  }
  if (!vm.count("load") || !vm.count("prompt")) throw Error("generate needs --load and --prompt");
  const double top_p = vm["top-p"].as<double>();
  const double temperature = vm["temperature"].as<double>();
  if (top_p < 0.0 || top_p > 1.0) throw Error("must be in [0, 1]", "--top-p");
  if (temperature < 0.0) throw Error("must be >= 0", "--temperature");
  if (vm["tokens-to-generate"].as<int64_t>() < 0)
    throw Error("must be >= 0", "--tokens-to-generate");
  const std::string device_name = vm["device"].as<std::string>();
  if (device_name != "cpu" && device_name != "cuda") throw Error("must be cpu or cuda", "--device");
  const Device device = device_name == "cpu" ? Device::cpu() : Device::cuda(0);

  const std::string root = vm["load"].as<std::string>();
  const auto found = find_checkpoint(root);
  if (!found) throw Error("no checkpoint found there", root);
  const CheckpointManifest manifest = read_manifest(*found);
  const Recipe recipe = parse_recipe(manifest.recipe_yaml, *found + "/manifest.yaml");
  auto model =
      ModelRegistry::instance().create(recipe.model.type, recipe, manifest.state.padded_vocab_size);
  ParamBuffers buffers(model->parameters(), device);
  load_checkpoint(manifest, buffers, nullptr, Topology::build(recipe, 1, 0));
  const auto tokenizer = checkpoint_tokenizer(recipe, manifest, vm);

  GenerationRequest request;
  request.prompt = tokenizer->encode(vm["prompt"].as<std::string>());
  request.tokens_to_generate = vm["tokens-to-generate"].as<int64_t>();
  request.max_positions = recipe.model.max_position_embeddings;
  request.vocab_size = tokenizer->vocab_size();
  request.stop_token = tokenizer->eod_id();
  request.sampling.temperature = vm.count("greedy") ? 0.0 : temperature;
  request.sampling.top_k = vm["top-k"].as<int64_t>();
  request.sampling.top_p = top_p;
  request.sampling.seed = vm["seed"].as<uint64_t>();
  const std::vector<int32_t> generated = generate(*model, device, request);
  std::cout << vm["prompt"].as<std::string>() << tokenizer->decode(generated) << std::endl;
  return 0;
}

}  // namespace me
