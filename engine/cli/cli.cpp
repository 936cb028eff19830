// The megatron-engine command line: global flags (--help, --version, --list), then a subcommand
// (train is the default). Every me::Error becomes one message per line and its ExitCode (README
// "Exit codes"); under MPI the message names the rank and all ranks are aborted, so none hangs.
#include "engine/cli/cli.h"

#include <fmt/format.h>

#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "engine/cli/commands.h"
#include "engine/cli/version.h"
#include "engine/core/error.h"
#include "engine/parallel/communicator.h"
#include "engine/registry/registry.h"

namespace me {
namespace {

constexpr const char* kUsage = R"(megatron-engine: train transformer models from a YAML recipe.

Usage:
  megatron-engine [train] --recipe FILE [--set section.key=VALUE ...] [--print-recipe]
  megatron-engine ingest --input FILE... --output OUT.h5 --tokenizer-type TYPE [...]
  megatron-engine generate --load CKPT --prompt TEXT [...]
  megatron-engine serve --load CKPT [--port 5000] [--host 127.0.0.1] [...]
  megatron-engine convert --from hf DIR --to CKPT | --from CKPT --to hf DIR [...]
  megatron-engine plan --recipe FILE [--set ...] [--world-size N]
  megatron-engine merge A.h5 B.h5 ... -o OUT.h5
  megatron-engine inspect CKPT | DATA.h5
  megatron-engine --list | --version | --help

Subcommands (each takes --help):
  train      train a model (the default when no subcommand is named)
  ingest     tokenize JSONL / text files into an HDF5 token dataset
  generate   sample text from a checkpoint
  serve      HTTP server: Megatron's PUT /api, OpenAI-style completions, a web page
  convert    import or export Hugging Face models (safetensors)
  plan       parameters, FLOPs, memory and communication per rank for a recipe and layout
  merge      concatenate HDF5 token datasets that share a tokenizer
  inspect    what a checkpoint (state, layout, model, tensors and their norms; sha256 checked)
             or a token dataset (tokenizer, documents, tokens, sources) holds

Global flags:
  --help     this message
  --version  version and build matrix (compiler, CUDA, cuDNN, NCCL, MPI, HDF5, GPU architectures)
  --list     every registered name, by kind (models, layers, optimizers, schedules, datasets,
             tokenizers)
)";

struct Subcommand {
  const char* name;
  int (*run)(const std::vector<std::string>&);
};

// Every subcommand, by the name typed after `megatron-engine`.
constexpr Subcommand kSubcommands[] = {
    {"train", train_command},
    {"ingest", ingest_command},
    {"generate", generate_command},
    {"serve", serve_command},
    {"convert", convert_command},
    {"plan", plan_command},
    {"merge", merge_command},
    {"inspect", inspect_command},
};

int print_list() {
  for (const auto& [kind, names] : RegistryIndex::instance().all()) {
    std::cout << kind << ":\n";
    for (const auto& name : names) std::cout << "  " << name << "\n";
  }
  return 0;
}

int dispatch(const std::vector<std::string>& args) {
  if (!args.empty()) {
    const std::string& first = args[0];
    if (first == "--help" || first == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (first == "--version") {
      std::cout << version_report();
      return 0;
    }
    if (first == "--list") return print_list();
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    std::vector<std::string> names;
    for (const Subcommand& sub : kSubcommands) {
      if (first == sub.name) return sub.run(rest);
      names.emplace_back(sub.name);
    }
    if (first.rfind("-", 0) != 0) {
      std::string message = "unknown subcommand '" + first + "'";
      if (auto near = closest_match(first, names)) message += "; did you mean '" + *near + "'?";
      throw Error(message + " (see megatron-engine --help)", "", ExitCode::kConfig);
    }
  }
  return train_command(args);
}

}  // namespace

int run_cli(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const bool under_mpi = launched_by_mpi();
  const std::string prefix = under_mpi ? fmt::format("[rank {}] ", launcher_rank()) : "";
  ExitCode code = ExitCode::kGeneric;
  try {
    return dispatch(args);
  } catch (const ErrorList& e) {
    for (const auto& error : e.errors()) std::cerr << prefix << error.what() << "\n";
    code = e.code();
  } catch (const Error& e) {
    std::cerr << prefix << e.what() << "\n";
    code = e.code();
  } catch (const InternalError& e) {
    std::cerr << prefix << "internal error (a bug in megatron-engine, please report): " << e.what()
              << "\n";
  } catch (const std::exception& e) {
    std::cerr << prefix << "error: " << e.what() << "\n";
  }
  if (under_mpi) {
    std::cerr << "aborting all ranks after the error above\n";
    abort_world(static_cast<int>(code));
  }
  return static_cast<int>(code);
}

}  // namespace me
