// `megatron-engine merge A.h5 B.h5 ... -o OUT.h5`: concatenates token datasets (datasets/merge.h),
// like Megatron's tools/merge_datasets.py but in the order given.
#include <fmt/format.h>

#include <iostream>

#include "datasets/merge.h"
#include "engine/cli/commands.h"
#include "engine/core/error.h"

namespace me {
namespace {

constexpr const char* kUsage = R"(Usage: megatron-engine merge A.h5 B.h5 ... -o OUT.h5

Concatenates HDF5 token datasets (docs/formats.md) into OUT.h5: the documents of A, then of B, ...
in the order given. Every input must have been tokenized by the same tokenizer (type and sha256 of
its files). Tokens are copied in blocks, so memory stays bounded whatever the input sizes. OUT.h5
is written under a temporary name and renamed when complete.

Options:
  -o, --output OUT.h5   the file to write
  --help                this message
)";

}  // namespace

int merge_command(const std::vector<std::string>& args) {
  std::vector<std::string> inputs;
  std::string output;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (arg == "-o" || arg == "--output") {
      if (i + 1 == args.size()) throw Error("needs a file name after it", arg);
      output = args[++i];
    } else if (arg.starts_with("--output=")) {
      output = arg.substr(9);
    } else if (arg.starts_with("-")) {
      throw Error(fmt::format("unknown flag '{}' (see megatron-engine merge --help)", arg), arg);
    } else {
      inputs.push_back(arg);
    }
  }
  if (output.empty()) throw Error("merge needs -o OUT.h5 (see megatron-engine merge --help)");
  if (inputs.empty()) throw Error("merge needs input token datasets: merge A.h5 B.h5 -o OUT.h5");
  const MergeSummary summary = merge_token_stores(inputs, output);
  std::cout << fmt::format("merged {} files into {}: {} documents, {} tokens\n", inputs.size(),
                           output, summary.documents, summary.tokens);
  return 0;
}

}  // namespace me
