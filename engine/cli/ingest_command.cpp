// `megatron-engine ingest`: the flags of Megatron's tools/preprocess_data.py (one output file, one
// JSON key) mapped onto datasets/ingest.h.
#include <fmt/format.h>

#include <iostream>

#include "datasets/ingest.h"
#include "datasets/ingest_progress.h"
#include "datasets/megatron_import.h"
#include "engine/cli/commands.h"
#include "engine/cli/flags.h"
#include "engine/core/error.h"

namespace me {
namespace {

namespace po = boost::program_options;

constexpr const char* kUsage =
    R"(Usage: megatron-engine ingest --input FILE... --output OUT.h5 --tokenizer-type TYPE [options]
       megatron-engine ingest --from-megatron PREFIX --output OUT.h5 --tokenizer-type TYPE [...]

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
Memory stays bounded whatever the input: a plain-text document over 1 MiB, or the text of a JSON
line over 16 MiB, is tokenized in pieces cut where the tokens provably do not change (byte-level
BPE and byte tokenizers; SentencePiece documents are held whole), on all workers, with exactly
the ids of the whole document (docs/formats.md "Ingest inputs").

With --from-megatron PREFIX (instead of --input) the Megatron indexed dataset PREFIX.bin /
PREFIX.idx is converted as it is (no re-tokenizing): the .idx is validated first, each Megatron
document becomes one document (each sequence with --megatron-sequences-as-documents, which is what
Megatron's GPTDataset trains on), and --tokenizer-type names the tokenizer that wrote it.

Options)";

struct Flags {
  IngestOptions options;
  std::string from_megatron;
  bool sequences_as_documents = false;
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
      ("from-megatron", po::value(&f.from_megatron),
       "convert the Megatron dataset PREFIX.bin / PREFIX.idx instead of tokenizing --input")
      ("megatron-sequences-as-documents", po::bool_switch(&f.sequences_as_documents),
       "--from-megatron: one document per Megatron sequence")
      ("output", po::value(&f.options.output), "the HDF5 file to write (OUT.h5)")
      ("tokenizer-type", po::value(&f.options.tokenizer_type),
       "byte, GPT2BPETokenizer, HuggingFaceTokenizer, TikTokenizer, Llama2Tokenizer, "
       "GPTSentencePieceTokenizer, SentencePieceTokenizer (megatron-engine --list)")
      ("vocab-file", po::value(&f.vocab_file), "GPT2BPETokenizer: vocab.json")
      ("merge-file", po::value(&f.merge_file), "GPT2BPETokenizer: merges.txt")
      ("tokenizer-model", po::value(&f.tokenizer_model),
       "tokenizer.json, tiktoken rank file or SentencePiece .model")
      ("json-keys", po::value(&f.json_keys)->multitoken(),
       "the JSON key holding the text (default text); one key per output file")
      ("text-document-separator", po::value(&f.separator),
       "plain text: a line equal to this separates documents")
      ("append-eod", po::bool_switch(&f.options.append_eod), "end each document with eod")
      ("dry-run", po::bool_switch(&f.options.dry_run),
       "read and tokenize but write nothing (measures tokenizing speed)")
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

TokenizerFiles tokenizer_files(const po::variables_map& vm, const Flags& f) {
  TokenizerFiles files;
  if (vm.count("vocab-file")) files.vocab_file = f.vocab_file;
  if (vm.count("merge-file")) files.merge_file = f.merge_file;
  if (vm.count("tokenizer-model")) files.tokenizer_model = f.tokenizer_model;
  return files;
}

int megatron_import_command(const po::variables_map& vm, const Flags& f) {
  for (const char* flag : {"output", "tokenizer-type"}) require(vm, flag);
  if (vm.count("input")) {
    throw Error("--from-megatron converts an existing dataset; give it or --input, not both",
                "--input");
  }
  MegatronImportOptions options;
  options.prefix = f.from_megatron;
  options.output = f.options.output;
  options.tokenizer_type = f.options.tokenizer_type;
  options.tokenizer_files = tokenizer_files(vm, f);
  options.sequences_as_documents = f.sequences_as_documents;
  const MegatronImportSummary summary = import_megatron(options);
  std::cout << fmt::format("converted {} ({} sequences) into {}: {} documents, {} tokens\n",
                           options.prefix, summary.sequences, options.output, summary.documents,
                           summary.tokens);
  return 0;
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
  if (vm.count("from-megatron")) return megatron_import_command(vm, f);
  for (const char* flag : {"input", "output", "tokenizer-type"}) require(vm, flag);
  if (f.json_keys.size() > 1) {
    throw Error(fmt::format("got {} keys; ingest writes one output per run, so give one "
                            "--json-keys value per output file",
                            f.json_keys.size()),
                "--json-keys");
  }
  if (!f.json_keys.empty()) f.options.json_key = f.json_keys[0];
  if (vm.count("text-document-separator")) f.options.text_document_separator = f.separator;
  f.options.tokenizer_files = tokenizer_files(vm, f);
  // On a terminal the progress bar reports; document-count lines would break it up.
  if (vm["log-interval"].defaulted() && IngestProgress::stderr_is_terminal()) {
    f.options.log_interval = 0;
  }

  const IngestSummary summary = ingest(f.options);
  std::cout << format_summary(summary, f.options.dry_run ? "nothing (--dry-run)" : f.options.output)
            << std::flush;
  return 0;
}

}  // namespace me
