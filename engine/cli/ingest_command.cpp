// `megatron-engine ingest`: the flags of Megatron's tools/preprocess_data.py (one output file, one
// JSON key) mapped onto datasets/ingest.h.
#include <fmt/format.h>

#include <iostream>

#include "datasets/ingest.h"
#include "engine/cli/commands.h"
#include "engine/cli/flags.h"
#include "engine/core/error.h"

namespace me {
namespace {

namespace po = boost::program_options;

constexpr const char* kUsage =
    R"(Usage: megatron-engine ingest --input FILE... --output OUT.h5 --tokenizer-type TYPE [options]

Tokenizes documents into one HDF5 token dataset (docs/formats.md), like Megatron's
tools/preprocess_data.py. The output is written under a temporary name and renamed when complete:
a failed ingest leaves no output and never replaces an existing file.

Inputs, by extension:
  .jsonl, .json   one JSON object per line; the document is the string under --json-keys
                  (default "text"); blank lines are ignored. A line that is not JSON, not valid
                  UTF-8, lacks the key or holds a non-string is an error naming FILE:LINE
                  (or is skipped with --skip-bad-lines).
  anything else   plain text: the whole file is one document, unless --text-document-separator S
                  is given: then a line equal to S separates documents ('%' for fortune files,
                  '' for blank lines); separator lines are dropped, empty documents skipped.
Documents keep input order whatever --workers is. With --append-eod each document that has
tokens ends with the tokenizer's end-of-document id (an empty document stays empty).

Options)";

struct Flags {
  IngestOptions options;
  std::vector<std::string> json_keys;
  std::string separator;
  std::string vocab_file, merge_file, tokenizer_model;
};

po::options_description describe(Flags& f) {
  po::options_description d(kUsage);
  // clang-format off
  d.add_options()
      ("help", "this message")
      ("input", po::value(&f.options.inputs)->multitoken(), "input files (JSON lines or text)")
      ("output", po::value(&f.options.output), "the HDF5 file to write (OUT.h5)")
      ("tokenizer-type", po::value(&f.options.tokenizer_type),
       "byte, GPT2BPETokenizer or HuggingFaceTokenizer (megatron-engine --list)")
      ("vocab-file", po::value(&f.vocab_file), "GPT2BPETokenizer: vocab.json")
      ("merge-file", po::value(&f.merge_file), "GPT2BPETokenizer: merges.txt")
      ("tokenizer-model", po::value(&f.tokenizer_model), "HuggingFaceTokenizer: tokenizer.json")
      ("json-keys", po::value(&f.json_keys)->multitoken(),
       "the JSON key holding the text (default text); one key per output file")
      ("text-document-separator", po::value(&f.separator),
       "plain text: a line equal to this separates documents")
      ("append-eod", po::bool_switch(&f.options.append_eod), "end each document with eod")
      ("workers", po::value(&f.options.workers)->default_value(1), "tokenizing threads")
      ("skip-bad-lines", po::bool_switch(&f.options.skip_bad_lines),
       "skip (and count) bad JSON lines and empty files instead of failing")
      ("log-interval", po::value(&f.options.log_interval)->default_value(1000),
       "documents between progress lines (0: none)");
  // clang-format on
  return d;
}

void require(const po::variables_map& vm, const char* flag) {
  if (!vm.count(flag)) {
    throw Error(fmt::format("ingest needs --{} (see megatron-engine ingest --help)", flag));
  }
}

}  // namespace

int ingest_command(const std::vector<std::string>& args) {
  Flags f;
  const po::options_description options = describe(f);
  const po::variables_map vm = parse_flags(options, args, "ingest");
  if (vm.count("help")) {
    std::cout << options << "\n";
    return 0;
  }
  for (const char* flag : {"input", "output", "tokenizer-type"}) require(vm, flag);
  if (f.json_keys.size() > 1) {
    throw Error(fmt::format("got {} keys; ingest writes one output per run, so give one "
                            "--json-keys value per output file",
                            f.json_keys.size()),
                "--json-keys");
  }
  if (!f.json_keys.empty()) f.options.json_key = f.json_keys[0];
  if (vm.count("text-document-separator")) f.options.text_document_separator = f.separator;
  if (vm.count("vocab-file")) f.options.tokenizer_files.vocab_file = f.vocab_file;
  if (vm.count("merge-file")) f.options.tokenizer_files.merge_file = f.merge_file;
  if (vm.count("tokenizer-model")) f.options.tokenizer_files.tokenizer_model = f.tokenizer_model;

  const IngestSummary summary = ingest(f.options);
  std::cout << format_summary(summary, f.options.output) << std::flush;
  return 0;
}

}  // namespace me
