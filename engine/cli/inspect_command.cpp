// `megatron-engine inspect PATH`: what a checkpoint (sha256-verified manifest, state, layout,
// model shape, every tensor with shape and L2 norm) or a token dataset (.h5) holds.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "datasets/hdf5_file.h"
#include "datasets/token_store.h"
#include "engine/checkpoint/checkpoint.h"
#include "engine/cli/commands.h"
#include "engine/cli/flags.h"
#include "engine/core/error.h"

namespace me {
namespace po = boost::program_options;
namespace fs = std::filesystem;
namespace {

herr_t collect_dataset(hid_t group, const char* name, const H5L_info_t*, void* out) {
  const hid_t object = H5Oopen(group, name, H5P_DEFAULT);
  if (object < 0) return -1;
  if (H5Iget_type(object) == H5I_DATASET)
    static_cast<std::vector<std::string>*>(out)->push_back(name);
  H5Oclose(object);
  return 0;
}

// Every dataset in an HDF5 file, by full path, in name order.
std::vector<std::string> dataset_names(const std::string& path) {
  std::lock_guard lock(hdf5_mutex());
  const H5Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.valid()) throw Error("cannot open as HDF5", path);
  std::vector<std::string> names;
  if (H5Lvisit(file.get(), H5_INDEX_NAME, H5_ITER_INC, collect_dataset, &names) < 0) {
    throw Error("cannot list the datasets of this HDF5 file", path);
  }
  return names;
}

// The L2 norm of a float dataset, read in row blocks so a large tensor needs little memory.
double l2_norm(const H5Dataset& dataset, const std::vector<int64_t>& dims) {
  if (dims.empty() || dims[0] == 0) return 0.0;
  int64_t row_elems = 1;
  for (size_t i = 1; i < dims.size(); ++i) row_elems *= dims[i];
  const int64_t block = std::max<int64_t>(1, (int64_t{1} << 20) / std::max<int64_t>(row_elems, 1));
  std::vector<float> buffer;
  double sum = 0.0;
  for (int64_t row = 0; row < dims[0]; row += block) {
    const int64_t rows = std::min(block, dims[0] - row);
    buffer.resize(static_cast<size_t>(rows * row_elems));
    dataset.read_rows(H5T_NATIVE_FLOAT, row, rows, buffer.data());
    for (float v : buffer) sum += static_cast<double>(v) * v;
  }
  return std::sqrt(sum);
}

void print_tensors(const std::string& shard) {
  const H5File file = H5File::open_read(shard);
  std::cout << fmt::format("tensors in {}:\n", fs::path(shard).filename().string());
  for (const std::string& name : dataset_names(shard)) {
    const H5Dataset dataset = file.open_dataset(name);
    const std::vector<int64_t> dims = dataset.dims();
    const std::string dtype = dataset.is_integer() ? fmt::format("i{}", 8 * dataset.element_size())
                                                   : fmt::format("f{}", 8 * dataset.element_size());
    std::cout << fmt::format("  {}  {} [{}]  norm {:.6g}\n", name, dtype, fmt::join(dims, ", "),
                             dataset.is_integer() ? 0.0 : l2_norm(dataset, dims));
  }
}

void inspect_checkpoint(const std::string& root) {
  const std::optional<std::string> found = find_checkpoint(root);
  if (!found) throw Error("no checkpoint here (no 'latest', no iter_* with a manifest)", root);
  const CheckpointManifest manifest = read_manifest(*found);
  const TrainingState& s = manifest.state;
  const Recipe recipe =
      parse_recipe(manifest.recipe_yaml, *found + "/manifest.yaml", manifest.world_size);
  const ModelConfig& m = recipe.model;
  std::cout << fmt::format("checkpoint {} ({} shard(s), sha256 verified)\n", *found,
                           manifest.shards.size())
            << fmt::format("iteration: {}\n", s.iteration)
            << fmt::format("consumed samples: {} train, {} valid\n", s.consumed_train_samples,
                           s.consumed_valid_samples)
            << fmt::format("layout: world size {}, tp {}, pp {}, dp {}\n", manifest.world_size,
                           manifest.tensor_model_parallel_size,
                           manifest.pipeline_model_parallel_size, manifest.data_parallel_size)
            << fmt::format("optimizer: {}\n", manifest.has_optimizer
                                                  ? manifest.optimizer + " (state stored)"
                                                  : "none stored")
            << fmt::format("tokenizer: {} (files sha256 {})\n", s.tokenizer_type,
                           s.tokenizer_sha256.empty() ? "-" : s.tokenizer_sha256)
            << fmt::format(
                   "model: {}, {} layers, hidden {}, ffn {}, {} heads ({} query groups), "
                   "seq {}, padded vocab {}\n",
                   m.type, m.num_layers, m.hidden_size, recipe.derived.ffn_hidden_size,
                   m.num_attention_heads, recipe.derived.num_query_groups, m.seq_length,
                   s.padded_vocab_size);
  for (const auto& shard : manifest.shards) {
    print_tensors((fs::path(*found) / shard).string());
  }
}

void inspect_dataset(const std::string& path) {
  const auto store = TokenStore::open(path);
  const H5File file = H5File::open_read(path);
  const TokenStoreMeta& meta = store->meta();
  const int64_t docs = store->num_documents();
  int64_t shortest = docs > 0 ? store->document_length(0) : 0;
  int64_t longest = shortest;
  for (int64_t d = 1; d < docs; ++d) {
    shortest = std::min(shortest, store->document_length(d));
    longest = std::max(longest, store->document_length(d));
  }
  const double mean = docs > 0 ? static_cast<double>(store->num_tokens()) / docs : 0.0;
  std::cout << fmt::format("token dataset {}\n", path)
            << fmt::format("format: {} version {}\n", file.string_attr("format").value_or("?"),
                           file.int_attr("format_version").value_or(0))
            << fmt::format("tokenizer: {} (files sha256 {})\n", meta.tokenizer_type,
                           meta.tokenizer_sha256.empty() ? "-" : meta.tokenizer_sha256)
            << fmt::format("vocab size: {}\neod: {}\n", meta.vocab_size, meta.eod_id)
            << fmt::format("documents: {}\ntokens: {}\n", docs, store->num_tokens())
            << fmt::format("document length: mean {:.1f}, min {}, max {}\n", mean, shortest,
                           longest)
            << fmt::format("sources: {}\n", meta.sources.size());
  for (const SourceFile& source : meta.sources) {
    std::cout << fmt::format("  {} ({} bytes, sha256 {})\n", source.path, source.bytes,
                             source.sha256);
  }
}

}  // namespace

int inspect_command(const std::vector<std::string>& args) {
  po::options_description options("megatron-engine inspect");
  options.add_options()("help", "this message")(
      "path", po::value<std::string>(),
      "a checkpoint directory (or iter_* in it) or a .h5 dataset");
  po::positional_options_description positional;
  positional.add("path", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
  } catch (const po::error& e) {
    throw Error(fmt::format("inspect: {} (see megatron-engine inspect --help)", e.what()), "",
                ExitCode::kConfig);
  }
  if (vm.count("help")) {
    std::cout << "megatron-engine inspect PATH\n\n" << options;
    return 0;
  }
  if (!vm.count("path")) throw Error("inspect needs a PATH", "", ExitCode::kConfig);
  const std::string path = vm["path"].as<std::string>();
  if (!fs::exists(path)) throw Error("no such file or directory", path, ExitCode::kConfig);
  if (fs::is_directory(path)) {
    with_exit_code(ExitCode::kCheckpoint, [&] { inspect_checkpoint(path); });
  } else {
    with_exit_code(ExitCode::kData, [&] { inspect_dataset(path); });
  }
  return 0;
}

}  // namespace me
