// The inference flags: declared once, read into a device and tokenizer overrides.
#include "engine/cli/inference_flags.h"

namespace me {
namespace po = boost::program_options;

void add_inference_flags(po::options_description& options) {
  // clang-format off
  options.add_options()
      ("device", po::value<std::string>()->default_value("cpu"), "cpu or cuda")
      ("tokenizer-type", po::value<std::string>(), "override the checkpoint's tokenizer type")
      ("vocab-file", po::value<std::string>(), "tokenizer vocab.json (GPT2BPETokenizer)")
      ("merge-file", po::value<std::string>(), "tokenizer merges.txt (GPT2BPETokenizer)")
      ("tokenizer-model", po::value<std::string>(), "tokenizer.json (HuggingFaceTokenizer)");
  // clang-format on
}

TokenizerOverrides tokenizer_overrides(const po::variables_map& vm) {
  TokenizerOverrides o;
  if (vm.count("tokenizer-type")) o.type = vm["tokenizer-type"].as<std::string>();
  if (vm.count("vocab-file")) o.files.vocab_file = vm["vocab-file"].as<std::string>();
  if (vm.count("merge-file")) o.files.merge_file = vm["merge-file"].as<std::string>();
  if (vm.count("tokenizer-model"))
    o.files.tokenizer_model = vm["tokenizer-model"].as<std::string>();
  return o;
}

Device device_flag(const po::variables_map& vm) {
  const std::string name = vm["device"].as<std::string>();
  if (name != "cpu" && name != "cuda") throw Error("must be cpu or cuda", "--device");
  return name == "cpu" ? Device::cpu() : Device::cuda(0);
}

}  // namespace me
