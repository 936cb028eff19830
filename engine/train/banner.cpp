// Start-up banner: gathers the facts (token store sizes, the plan) and formats them.
#include "engine/train/banner.h"

#include <fmt/format.h>

#include "datasets/blend.h"
#include "datasets/split.h"
#include "datasets/token_store.h"

namespace me {
namespace {

std::string mib(double bytes) { return fmt::format("{:.1f} MiB", bytes / 1048576.0); }

// Tokens the train split draws from: the train blend's files, times data.split's train share
// when the files are split rather than per-split lists.
double train_split_tokens(const DataConfig& data, const std::vector<DataFileSummary>& files) {
  const Blend blend = split_blend(data, Split::kTrain);
  double tokens = 0.0;
  for (const DataFileSummary& f : files) {
    for (const std::string& p : blend.paths) {
      if (p == f.path) tokens += static_cast<double>(f.tokens);
    }
  }
  return blend.per_split ? tokens : tokens * parse_split(data.split)[0];
}

std::string data_lines(const Recipe& r, const std::vector<DataFileSummary>& files) {
  if (r.data.mock_data) return "data         mock data (random tokens)\n";
  std::string out;
  for (const DataFileSummary& f : files) {
    out += fmt::format("data         {}: {} documents, {} tokens\n", f.path, f.documents, f.tokens);
  }
  const double train_tokens = static_cast<double>(*r.train.train_iters) *
                              static_cast<double>(r.derived.global_batch_size * r.model.seq_length);
  const double available = train_split_tokens(r.data, files);
  if (available > 0) {
    out += fmt::format("epochs       {:.2f} over the train split ({:.0f} tokens)\n",
                       train_tokens / available, available);
  }
  return out;
}

std::string output_line(const Recipe& r) {
  std::string out = "outputs      log: stderr";
  if (r.logging.metrics_file) out += "; metrics: " + *r.logging.metrics_file;
  if (r.logging.tensorboard_dir) out += "; tensorboard: " + *r.logging.tensorboard_dir;
  if (r.checkpoint.save) {
    out += fmt::format("; checkpoints: {}", *r.checkpoint.save);
    if (r.checkpoint.save_interval) out += fmt::format(" every {}", *r.checkpoint.save_interval);
    if (r.checkpoint.async_save) out += " (async)";
  }
  if (r.checkpoint.load) out += "; resume from: " + *r.checkpoint.load;
  return out + "\n";
}

}  // namespace

std::vector<DataFileSummary> summarize_data_files(const DataConfig& data) {
  std::vector<DataFileSummary> out;
  if (data.mock_data) return out;
  for (const std::string& path : data_files(data)) {
    const auto store = TokenStore::open(path);
    out.push_back({path, store->num_documents(), store->num_tokens()});
  }
  return out;
}

std::string format_banner(const Recipe& r, const Topology& topology, const Device& device,
                          int64_t num_parameters, const PlanReport& plan,
                          const std::vector<DataFileSummary>& data) {
  const ModelConfig& m = r.model;
  const int64_t gbs = r.derived.global_batch_size;
  const int64_t tokens_per_step = gbs * m.seq_length;
  std::string out = "---------------- megatron-engine run ----------------\n";
  out += fmt::format(
      "model        {}: {} layers, hidden {}, {} heads, sequence {}: {} parameters ({:.2f} M)\n",
      m.type, m.num_layers, m.hidden_size, m.num_attention_heads, m.seq_length, num_parameters,
      static_cast<double>(num_parameters) / 1e6);
  out += fmt::format("layout       {} on {}; world size {}\n", topology.describe(), device.str(),
                     topology.world_size);
  out += fmt::format(
      "batch        micro {} x {} micro-batches x data-parallel {} = {} sequences = {} tokens per "
      "step\n",
      r.train.micro_batch_size, r.derived.num_microbatches, topology.dp, gbs, tokens_per_step);
  out += fmt::format("training     {} iterations = {} tokens\n", *r.train.train_iters,
                     *r.train.train_iters * tokens_per_step);
  out += data_lines(r, data);
  const MemoryPlan& mem = plan.memory;
  out += fmt::format(
      "memory plan  {} per rank: weights {}, gradients {}, optimizer {}, activations {}, "
      "workspace {}\n",
      mib(mem.total()), mib(mem.weights), mib(mem.gradients), mib(mem.optimizer),
      mib(mem.activations), mib(mem.workspace));
  out += output_line(r);
  return out + "------------------------------------------------------";
}

}  // namespace me
