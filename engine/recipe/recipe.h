// The typed, validated recipe: one struct per section, fields named as Megatron-LM's arguments,
// plus the family sections higher rooms declare. Values come only from the schema (the files of
// engine/recipe/sections/ and every registered family): defaults, types, ranges and docs live
// there, once; these structs carry no defaults of their own.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <typeindex>
#include <typeinfo>
#include <utility>
#include <vector>

namespace me {

struct ModelConfig {
  std::string type;  // registered model name, e.g. "gpt"
  int64_t num_layers;
  // One character per layer (engine/recipe/hybrid_pattern.h); None: every layer a transformer
  // layer.
  std::optional<std::string> hybrid_override_pattern;
  int64_t hidden_size;
  std::optional<int64_t> ffn_hidden_size;  // None -> 4 * hidden_size (see resolve)
  int64_t num_attention_heads;
  std::optional<int64_t> kv_channels;  // None -> hidden_size / num_attention_heads
  bool group_query_attention;
  int64_t num_query_groups;
  int64_t seq_length;
  int64_t max_position_embeddings;
  std::string position_embedding_type;  // learned_absolute or rope
  int64_t rotary_base;                  // RoPE theta
  double rotary_percent;                // fraction of kv_channels rotated
  bool rotary_interleaved;
  bool use_rope_scaling;  // Llama-3.1 frequency scaling
  double rope_scaling_factor;
  int64_t rope_scaling_original_max_position_embeddings;  // engine-only; Megatron fixes 8192
  std::string normalization;                              // LayerNorm or RMSNorm
  double layernorm_epsilon;
  bool swiglu;
  bool untie_embeddings_and_output_weights;
  bool add_bias_linear;
  bool add_qkv_bias;
  bool qk_layernorm;
  double hidden_dropout;
  double attention_dropout;
  double init_method_std;
  std::optional<double> embedding_init_method_std;
  int64_t make_vocab_size_divisible_by;
  std::optional<int64_t> padded_vocab_size;

  bool operator==(const ModelConfig&) const;
};

struct ParallelConfig {
  int64_t tensor_model_parallel_size;
  int64_t pipeline_model_parallel_size;
  // Uneven stages: layers of the first / last stage (the rest split evenly over the middle).
  std::optional<int64_t> decoder_first_pipeline_num_layers;
  std::optional<int64_t> decoder_last_pipeline_num_layers;
  // Interleaved 1F1B: layers per virtual stage (vpp = num_layers / pp / this chunks per rank).
  std::optional<int64_t> num_layers_per_virtual_pipeline_stage;
  int64_t context_parallel_size;
  bool sequence_parallel;
  bool use_distributed_optimizer;
  bool overlap_grad_reduce;
  bool overlap_param_gather;  // needs use_distributed_optimizer and overlap_grad_reduce
  std::optional<int64_t>
      ddp_bucket_size;                 // None -> one bucket, or Megatron's size when overlapping
  double distributed_timeout_minutes;  // fractions allowed (tests stall for seconds)

  bool operator==(const ParallelConfig&) const;
};

struct DataConfig {
  std::vector<std::string> data_path;  // "prefix", "w1 p1 w2 p2" or "p1 p2"
  // Per-split blends (Megatron's --train-data-path ...), exclusive with data_path.
  std::vector<std::string> train_data_path;
  std::vector<std::string> valid_data_path;
  std::vector<std::string> test_data_path;
  std::string split;  // "969, 30, 1"
  std::optional<std::string> data_cache_path;
  bool mock_data;

  bool operator==(const DataConfig&) const;
};

struct TokenizerConfig {
  std::optional<std::string> tokenizer_type;  // None -> the one recorded in the dataset file
  std::optional<std::string> vocab_file;
  std::optional<std::string> merge_file;
  std::optional<std::string> tokenizer_model;
  std::optional<int64_t> vocab_size;

  bool operator==(const TokenizerConfig&) const;
};

struct TrainConfig {
  std::string device;        // cpu or cuda
  int64_t ranks_per_device;  // >1: ranks share a GPU (debugging a layout on one GPU)
  int64_t micro_batch_size;
  std::optional<int64_t> global_batch_size;  // None -> micro_batch_size * data_parallel_size
  std::optional<int64_t> train_iters;
  std::optional<int64_t> eval_interval;
  int64_t eval_iters;
  int64_t seed;
  std::optional<int64_t> exit_interval;
  std::optional<double> exit_duration_in_mins;
  bool exit_signal_handler;
  bool deterministic_mode;
  bool calculate_per_token_loss;
  bool check_for_nan_in_loss_and_grad;
  std::optional<std::string> recompute_granularity;  // full or selective (engine/nn/recompute.h)
  std::optional<std::string> recompute_method;       // uniform or block; full only
  std::optional<int64_t> recompute_num_layers;       // layers per chunk (uniform) / count (block)
  std::optional<int64_t> inject_nan_at_iteration;    // test-only
  std::optional<int64_t> loss_spike_window;  // skip updates k sigma above this window's mean
  double loss_spike_sigma;
  std::optional<int64_t> inject_loss_spike_at_iteration;  // test-only
  std::optional<int64_t> inject_stall_at_iteration;       // test-only (inject_fault_rank stalls)
  std::optional<int64_t> inject_kill_at_iteration;        // test-only (inject_fault_rank dies)
  int64_t inject_fault_rank;                              // test-only

  bool operator==(const TrainConfig&) const;
};

struct OptimizerConfig {
  std::string optimizer;  // adam or sgd
  double lr;
  double min_lr;
  double weight_decay;
  std::optional<double> start_weight_decay;
  std::optional<double> end_weight_decay;
  std::string weight_decay_incr_style;
  double clip_grad;
  double adam_beta1;
  double adam_beta2;
  double adam_eps;
  double sgd_momentum;

  bool operator==(const OptimizerConfig&) const;
};

struct SchedulerConfig {
  std::string lr_decay_style;  // constant, linear, cosine, inverse-square-root, WSD
  std::optional<int64_t> lr_decay_iters;
  int64_t lr_warmup_iters;
  std::optional<double> lr_warmup_fraction;
  double lr_warmup_init;
  std::string lr_wsd_decay_style;
  std::optional<int64_t> lr_wsd_decay_iters;

  bool operator==(const SchedulerConfig&) const;
};

struct MixedPrecisionConfig {
  bool bf16;
  bool fp16;
  std::optional<double> loss_scale;
  double initial_loss_scale;
  double min_loss_scale;
  double loss_scale_window;
  int64_t hysteresis;

  bool operator==(const MixedPrecisionConfig&) const;
};

struct CheckpointConfig {
  std::optional<std::string> save;
  std::optional<std::string> load;
  std::optional<int64_t> save_interval;
  bool no_save_optim;
  bool no_save_rng;
  bool no_load_optim;
  bool no_load_rng;
  bool finetune;
  bool exit_on_missing_checkpoint;
  bool async_save;

  bool operator==(const CheckpointConfig&) const;
};

struct LoggingConfig {
  int64_t log_interval;
  std::optional<std::string> metrics_file;
  bool log_throughput;
  std::optional<std::string> tensorboard_dir;
  bool log_timers_to_tensorboard;
  bool log_straggler;
  int64_t straggler_minmax_count;

  bool operator==(const LoggingConfig&) const;
};

// Values derived from the recipe by resolve(); --print-recipe shows them under `derived:`.
struct DerivedConfig {
  int64_t world_size;
  int64_t data_parallel_size;
  int64_t global_batch_size;
  int64_t num_microbatches;
  int64_t ffn_hidden_size;
  int64_t kv_channels;
  int64_t num_query_groups;  // == num_attention_heads unless group_query_attention

  bool operator==(const DerivedConfig&) const;
};

// The family sections of a recipe (engine/recipe/family.h: e.g. GptDataConfig, declared beside
// GPTDataset), held type-erased so this room never includes the rooms that declare them. A copy
// clones every section; equality goes through the schema (Recipe::operator==).
class FamilyConfigs {
 public:
  FamilyConfigs() = default;
  FamilyConfigs(const FamilyConfigs& other) { *this = other; }
  FamilyConfigs& operator=(const FamilyConfigs& other) {
    if (this == &other) return *this;
    configs_.clear();
    for (const auto& [type, config] : other.configs_) configs_.emplace_back(type, config->clone());
    return *this;
  }
  FamilyConfigs(FamilyConfigs&&) = default;
  FamilyConfigs& operator=(FamilyConfigs&&) = default;

  // A section nothing has set reads value-initialized, as Recipe{} leaves the core sections.
  template <class Config>
  const Config& get() const {
    if (const Holder* held = find(typeid(Config))) {
      return static_cast<const HolderOf<Config>*>(held)->config;
    }
    static const Config kUnset{};
    return kUnset;
  }
  // Creates the section (value-initialized) on first use; Config must be a registered family.
  template <class Config>
  Config& get() {
    Holder* held = find(typeid(Config));
    if (!held) held = &insert(typeid(Config), std::make_unique<HolderOf<Config>>());
    return static_cast<HolderOf<Config>*>(held)->config;
  }

 private:
  struct Holder {
    virtual ~Holder() = default;
    virtual std::unique_ptr<Holder> clone() const = 0;
  };
  template <class Config>
  struct HolderOf final : Holder {
    Config config{};
    std::unique_ptr<Holder> clone() const override { return std::make_unique<HolderOf>(*this); }
  };

  const Holder* find(std::type_index type) const {
    for (const auto& [t, config] : configs_) {
      if (t == type) return config.get();
    }
    return nullptr;
  }
  Holder* find(std::type_index type) {
    return const_cast<Holder*>(std::as_const(*this).find(type));
  }
  // Defined in engine/recipe/family.cpp, which knows the registered families.
  Holder& insert(std::type_index type, std::unique_ptr<Holder> config);

  std::vector<std::pair<std::type_index, std::unique_ptr<Holder>>> configs_;
};

struct Recipe {
  ModelConfig model;
  ParallelConfig parallel;
  DataConfig data;
  TokenizerConfig tokenizer;
  TrainConfig train;
  OptimizerConfig optimizer;
  SchedulerConfig scheduler;
  MixedPrecisionConfig mixed_precision;
  CheckpointConfig checkpoint;
  LoggingConfig logging;
  DerivedConfig derived;
  std::string source;  // the top recipe file, or "<checkpoint>" / "<string>"
  FamilyConfigs families;

  // A family section, read typed: `recipe.family<GptDataConfig>().eod_mask_loss`.
  template <class Config>
  const Config& family() const {
    return families.get<Config>();
  }
  template <class Config>
  Config& family() {
    return families.get<Config>();
  }

  // Core sections member-wise, family sections field by field through the schema.
  bool operator==(const Recipe&) const;
};

// Derived values of a validated recipe for `world_size` ranks.
DerivedConfig resolve(const Recipe& recipe, int64_t world_size);

// What a recipe is loaded for: training needs everything this engine can run; planning only
// needs a valid Megatron configuration (its "not supported yet" limits do not apply).
enum class RecipePurpose { kTrain, kPlan };

// Loads `path`, follows `base:` chains, applies `--set key=value` overrides (values parsed as
// YAML), validates everything and resolves derived values. Throws me::ErrorList naming
// file:line:col and key for every problem found. world_size comes from the launcher (MPI).
Recipe load_recipe(const std::string& path, const std::vector<std::string>& overrides,
                   int64_t world_size = 1, RecipePurpose purpose = RecipePurpose::kTrain);

// The same from YAML text (a checkpoint's stored recipe); `origin` names it in errors.
Recipe parse_recipe(const std::string& yaml_text, const std::string& origin,
                    int64_t world_size = 1);

// The fully resolved recipe (every field, defaults included; a family's fields only where it
// serves model.type) as YAML, parseable by parse_recipe.
std::string recipe_to_yaml(const Recipe& recipe);

// docs/recipes.md: every section and field with type, default, range and doc; per section the
// common fields, then one table per family, each naming the file that declares it.
std::string recipe_schema_markdown();

}  // namespace me
