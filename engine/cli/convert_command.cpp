// `megatron-engine convert --from hf DIR --to CKPT` and `convert --from CKPT --to hf DIR`:
// Hugging Face safetensors models in and out of our checkpoints (engine/checkpoint/hf_convert.h);
// `convert --from CKPT --to-layout OUT`: a checkpoint for another parallel layout.
#include <cctype>
#include <iostream>

#include "engine/checkpoint/hf_convert.h"
#include "engine/checkpoint/layout_convert.h"
#include "engine/cli/commands.h"
#include "engine/cli/flags.h"

namespace me {
namespace po = boost::program_options;
namespace {

constexpr const char* kConvertUsage =
    "convert needs --from hf DIR --to CKPT (import), --from CKPT --to hf DIR (export) or --from "
    "CKPT --to-layout OUT (another parallel layout)";

// "5GB", "100MB", "60KB" (decimal, as transformers' max_shard_size), "1GiB", or plain bytes.
int64_t parse_size(const std::string& text) {
  size_t used = 0;
  double number = -1;
  try {
    number = std::stod(text, &used);
  } catch (const std::exception&) {
  }
  std::string unit = text.substr(used);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::pair<const char*, double> units[] = {
      {"", 1},     {"B", 1},        {"KB", 1e3},        {"MB", 1e6},
      {"GB", 1e9}, {"KIB", 1024.0}, {"MIB", 1048576.0}, {"GIB", 1073741824.0}};
  for (const auto& [name, scale] : units) {
    if (unit == name && number > 0) return static_cast<int64_t>(number * scale);
  }
  throw Error("'" + text + "' is not a size such as 5GB, 100MB or 1048576", "--max-shard-size");
}

}  // namespace

int convert_command(const std::vector<std::string>& args) {
  po::options_description options("megatron-engine convert");
  // clang-format off
  options.add_options()
      ("help", "this message")
      ("from", po::value<std::vector<std::string>>()->multitoken(),
       "hf DIR (a Hugging Face model directory) or CKPT (our checkpoint)")
      ("to", po::value<std::vector<std::string>>()->multitoken(),
       "CKPT (our checkpoint root) or hf DIR")
      ("tokenizer-type", po::value<std::string>(),
       "import: tokenizer to record (default: HuggingFaceTokenizer when tokenizer.json exists, "
       "else GPT2BPETokenizer when vocab.json and merges.txt do)")
      ("make-vocab-size-divisible-by", po::value<int64_t>()->default_value(0),
       "import: pad the vocabulary rows with zeros to a multiple of this (0: keep HF's size)")
      ("dtype", po::value<std::string>()->default_value("auto"),
       "export: f32, bf16, f16 or auto (the dtype the model was imported in, else f32)")
      ("max-shard-size", po::value<std::string>()->default_value("5GB"),
       "export: largest safetensors shard (e.g. 5GB, 100MB); larger models are sharded")
      ("vocab-size", po::value<int64_t>(),
       "export: vocabulary rows to keep (default: the tokenizer's; padding rows are dropped)")
      ("to-layout", po::value<std::string>(),
       "OUT: write --from's checkpoint into the new root OUT laid out for the sizes below")
      ("tensor-model-parallel-size", po::value<int64_t>(),
       "to-layout: tensor-parallel size (default: the checkpoint's)")
      ("pipeline-model-parallel-size", po::value<int64_t>(),
       "to-layout: pipeline stages (default: the checkpoint's)")
      ("data-parallel-size", po::value<int64_t>(),
       "to-layout: data-parallel size, for the distributed optimizer's state files (default: the "
       "checkpoint's)")
      ("use-distributed-optimizer", po::value<bool>(),
       "to-layout: true or false (default: the checkpoint's recipe)");
  // clang-format on
  const po::variables_map vm = parse_flags(options, args, "convert");
  if (vm.count("help")) {
    std::cout << kConvertUsage << "\n\n" << options;
    return 0;
  }
  if (vm.count("from") && vm.count("to-layout") && !vm.count("to")) {
    const auto from = vm["from"].as<std::vector<std::string>>();
    if (from.size() != 1) throw Error(kConvertUsage, "--from");
    LayoutTarget target;
    auto size = [&](const char* flag, std::optional<int64_t>& into) {
      if (vm.count(flag)) into = vm[flag].as<int64_t>();
    };
    size("tensor-model-parallel-size", target.tensor_model_parallel_size);
    size("pipeline-model-parallel-size", target.pipeline_model_parallel_size);
    size("data-parallel-size", target.data_parallel_size);
    if (vm.count("use-distributed-optimizer")) {
      target.use_distributed_optimizer = vm["use-distributed-optimizer"].as<bool>();
    }
    const std::string dir =
        convert_checkpoint_layout(from[0], vm["to-layout"].as<std::string>(), target);
    std::cout << "wrote " << dir << "\n";
    return 0;
  }
  if (!vm.count("from") || !vm.count("to")) throw Error(kConvertUsage);
  const auto from = vm["from"].as<std::vector<std::string>>();
  const auto to = vm["to"].as<std::vector<std::string>>();
  if (from.size() == 2 && from[0] == "hf" && to.size() == 1) {
    HfImportOptions import;
    if (vm.count("tokenizer-type")) import.tokenizer_type = vm["tokenizer-type"].as<std::string>();
    import.make_vocab_size_divisible_by = vm["make-vocab-size-divisible-by"].as<int64_t>();
    if (import.make_vocab_size_divisible_by < 0) {
      throw Error("must be >= 0", "--make-vocab-size-divisible-by");
    }
    const std::string dir = import_hf_checkpoint(from[1], to[0], import);
    std::cout << "wrote " << dir << "\n";
    return 0;
  }
  if (from.size() == 1 && to.size() == 2 && to[0] == "hf") {
    HfExportOptions export_options;
    export_options.dtype = vm["dtype"].as<std::string>();
    export_options.max_shard_bytes = parse_size(vm["max-shard-size"].as<std::string>());
    if (vm.count("vocab-size")) export_options.vocab_size = vm["vocab-size"].as<int64_t>();
    export_hf_checkpoint(from[0], to[1], export_options);
    std::cout << "wrote " << to[1] << "\n";
    return 0;
  }
  throw Error(kConvertUsage, "--from / --to");
}

}  // namespace me
