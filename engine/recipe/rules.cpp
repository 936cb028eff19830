// Each rule reads the typed recipe and reports at the origin of the first of its keys the recipe
// sets (else the recipe file), naming every key involved.
#include "engine/recipe/rules.h"

#include <fmt/format.h>

#include <sstream>

#include "engine/recipe/hybrid_pattern.h"
#include "engine/recipe/overlap_rules.h"
#include "engine/recipe/pipeline_rules.h"
#include "engine/recipe/recompute_rules.h"
#include "engine/recipe/rule_context.h"
#include "engine/recipe/sequence_parallel_rules.h"

namespace me {
namespace {

void heads_divide_hidden(RuleContext& c) {
  const auto& m = c.r().model;
  if (!c.usable({"model.hidden_size", "model.num_attention_heads", "model.kv_channels"})) return;
  if (!m.kv_channels && m.hidden_size % m.num_attention_heads != 0) {
    c.fail({"model.hidden_size", "model.num_attention_heads"},
           fmt::format("model.hidden_size ({}) must be divisible by model.num_attention_heads "
                       "({}), or set model.kv_channels",
                       m.hidden_size, m.num_attention_heads));
  }
}

void heads_divide_tensor_parallel(RuleContext& c) {
  const int64_t a = c.r().model.num_attention_heads;
  const int64_t tp = c.r().parallel.tensor_model_parallel_size;
  if (!c.usable({"model.num_attention_heads", "parallel.tensor_model_parallel_size"})) return;
  if (a % tp != 0) {
    c.fail({"model.num_attention_heads", "parallel.tensor_model_parallel_size"},
           fmt::format("model.num_attention_heads ({}) must be divisible by "
                       "parallel.tensor_model_parallel_size ({})",
                       a, tp));
  }
}

void query_groups_divide_heads(RuleContext& c) {
  const auto& m = c.r().model;
  const int64_t tp = c.r().parallel.tensor_model_parallel_size;
  if (!c.usable({"model.group_query_attention", "model.num_attention_heads",
                 "model.num_query_groups", "parallel.tensor_model_parallel_size"}) ||
      !m.group_query_attention) {
    return;
  }
  if (m.num_attention_heads % m.num_query_groups != 0) {
    c.fail({"model.num_query_groups", "model.num_attention_heads", "model.group_query_attention"},
           fmt::format("with model.group_query_attention, model.num_attention_heads ({}) must be "
                       "divisible by model.num_query_groups ({})",
                       m.num_attention_heads, m.num_query_groups));
  } else if (m.num_query_groups % tp != 0 && tp % m.num_query_groups != 0) {
    c.fail({"model.num_query_groups", "parallel.tensor_model_parallel_size"},
           fmt::format("model.num_query_groups ({}) and parallel.tensor_model_parallel_size ({}) "
                       "must divide one another",
                       m.num_query_groups, tp));
  }
}

void seq_fits_positions(RuleContext& c) {
  const auto& m = c.r().model;
  if (!c.usable({"model.seq_length", "model.max_position_embeddings"})) return;
  if (m.seq_length > m.max_position_embeddings) {
    c.fail({"model.seq_length", "model.max_position_embeddings"},
           fmt::format("model.seq_length ({}) must be <= model.max_position_embeddings ({})",
                       m.seq_length, m.max_position_embeddings));
  }
}

void sequence_divides_context_parallel(RuleContext& c) {
  const int64_t s = c.r().model.seq_length;
  const int64_t cp = c.r().parallel.context_parallel_size;
  if (!c.usable({"model.seq_length", "parallel.context_parallel_size"}) || cp == 1) return;
  if (s % (2 * cp) != 0) {
    c.fail({"model.seq_length", "parallel.context_parallel_size"},
           fmt::format("model.seq_length ({}) must be divisible by 2 * "
                       "parallel.context_parallel_size ({})",
                       s, 2 * cp));
  }
}

void world_divides_model_parallel(RuleContext& c) {
  const auto& p = c.r().parallel;
  if (!c.usable({"parallel.tensor_model_parallel_size", "parallel.pipeline_model_parallel_size",
                 "parallel.context_parallel_size"}) ||
      c.data_parallel_size()) {
    return;
  }
  c.fail({"parallel.tensor_model_parallel_size", "parallel.pipeline_model_parallel_size",
          "parallel.context_parallel_size"},
         fmt::format("world size {} must be divisible by parallel.tensor_model_parallel_size * "
                     "parallel.pipeline_model_parallel_size * parallel.context_parallel_size "
                     "({} * {} * {})",
                     c.world_size(), p.tensor_model_parallel_size, p.pipeline_model_parallel_size,
                     p.context_parallel_size));
}

void global_batch_divisible(RuleContext& c) {
  const auto& t = c.r().train;
  const auto dp = c.data_parallel_size();
  if (!c.usable({"train.global_batch_size", "train.micro_batch_size",
                 "parallel.tensor_model_parallel_size", "parallel.pipeline_model_parallel_size",
                 "parallel.context_parallel_size"}) ||
      !t.global_batch_size || !dp) {
    return;
  }
  if (*t.global_batch_size % (t.micro_batch_size * *dp) != 0) {
    c.fail({"train.global_batch_size", "train.micro_batch_size"},
           fmt::format("train.global_batch_size ({}) must be divisible by train.micro_batch_size "
                       "* data_parallel_size ({} * {})",
                       *t.global_batch_size, t.micro_batch_size, *dp));
  }
}

void one_half_precision(RuleContext& c) {
  const auto& mp = c.r().mixed_precision;
  if (c.usable({"mixed_precision.bf16", "mixed_precision.fp16"}) && mp.bf16 && mp.fp16) {
    c.fail({"mixed_precision.fp16", "mixed_precision.bf16"},
           "mixed_precision.bf16 and mixed_precision.fp16 are mutually exclusive");
  }
}

void loss_scale_bounds(RuleContext& c) {
  const auto& mp = c.r().mixed_precision;
  if (c.usable({"mixed_precision.min_loss_scale", "mixed_precision.initial_loss_scale"}) &&
      mp.min_loss_scale > mp.initial_loss_scale) {
    c.fail({"mixed_precision.min_loss_scale", "mixed_precision.initial_loss_scale"},
           fmt::format("mixed_precision.min_loss_scale ({}) must be <= "
                       "mixed_precision.initial_loss_scale ({})",
                       mp.min_loss_scale, mp.initial_loss_scale));
  }
}

void learning_rates_ordered(RuleContext& c) {
  const auto& o = c.r().optimizer;
  const double init = c.r().scheduler.lr_warmup_init;
  if (c.usable({"optimizer.min_lr", "optimizer.lr"}) && o.min_lr > o.lr) {
    c.fail({"optimizer.min_lr", "optimizer.lr"},
           fmt::format("optimizer.min_lr ({}) must be <= optimizer.lr ({})", o.min_lr, o.lr));
  }
  if (c.usable({"scheduler.lr_warmup_init", "optimizer.lr"}) && init > o.lr) {
    c.fail({"scheduler.lr_warmup_init", "optimizer.lr"},
           fmt::format("scheduler.lr_warmup_init ({}) must be <= optimizer.lr ({})", init, o.lr));
  }
}

void warmup_before_decay_horizon(RuleContext& c) {
  const auto& s = c.r().scheduler;
  const auto& train_iters = c.r().train.train_iters;
  if (!c.usable({"scheduler.lr_warmup_iters", "scheduler.lr_decay_iters", "train.train_iters"}) ||
      s.lr_warmup_iters == 0) {
    return;
  }
  const auto horizon = s.lr_decay_iters ? s.lr_decay_iters : train_iters;
  if (horizon && s.lr_warmup_iters >= *horizon) {
    c.fail(
        {"scheduler.lr_warmup_iters", "scheduler.lr_decay_iters", "train.train_iters"},
        fmt::format("scheduler.lr_warmup_iters ({}) must be < the decay horizon {} ({}){}",
                    s.lr_warmup_iters,
                    s.lr_decay_iters ? "scheduler.lr_decay_iters" : "train.train_iters", *horizon,
                    s.lr_decay_iters ? "" : " since scheduler.lr_decay_iters is null"));
  }
}

void one_warmup_form(RuleContext& c) {
  const auto& s = c.r().scheduler;
  if (c.usable({"scheduler.lr_warmup_fraction", "scheduler.lr_warmup_iters"}) &&
      s.lr_warmup_fraction && s.lr_warmup_iters > 0) {
    c.fail({"scheduler.lr_warmup_fraction", "scheduler.lr_warmup_iters"},
           "scheduler.lr_warmup_fraction and scheduler.lr_warmup_iters > 0 are mutually "
           "exclusive; set one");
  }
}

void wsd_needs_decay_iters(RuleContext& c) {
  const auto& s = c.r().scheduler;
  if (c.usable({"scheduler.lr_decay_style", "scheduler.lr_wsd_decay_iters"}) &&
      s.lr_decay_style == "WSD" && !s.lr_wsd_decay_iters) {
    c.fail({"scheduler.lr_decay_style", "scheduler.lr_wsd_decay_iters"},
           "scheduler.lr_decay_style 'WSD' needs scheduler.lr_wsd_decay_iters");
  }
}

void weight_decay_schedule(RuleContext& c) {
  const auto& o = c.r().optimizer;
  if (!c.usable({"optimizer.weight_decay_incr_style", "optimizer.start_weight_decay",
                 "optimizer.end_weight_decay"})) {
    return;
  }
  const bool constant = o.weight_decay_incr_style == "constant";
  if (constant && (o.start_weight_decay || o.end_weight_decay)) {
    c.fail({"optimizer.start_weight_decay", "optimizer.end_weight_decay",
            "optimizer.weight_decay_incr_style"},
           "optimizer.start_weight_decay and optimizer.end_weight_decay need a non-constant "
           "optimizer.weight_decay_incr_style (constant uses optimizer.weight_decay)");
  } else if (!constant && !(o.start_weight_decay && o.end_weight_decay)) {
    c.fail({"optimizer.weight_decay_incr_style", "optimizer.start_weight_decay",
            "optimizer.end_weight_decay"},
           fmt::format("optimizer.weight_decay_incr_style '{}' needs both "
                       "optimizer.start_weight_decay and optimizer.end_weight_decay",
                       o.weight_decay_incr_style));
  }
}

void save_needs_interval(RuleContext& c) {
  const auto& ck = c.r().checkpoint;
  if (c.usable({"checkpoint.save", "checkpoint.save_interval"}) && ck.save && !ck.save_interval) {
    c.fail({"checkpoint.save", "checkpoint.save_interval"},
           "checkpoint.save is set but checkpoint.save_interval is not");
  }
}

void one_data_source(RuleContext& c) {
  const auto& d = c.r().data;
  if (!c.usable({"data.data_path", "data.mock_data", "data.train_data_path", "data.valid_data_path",
                 "data.test_data_path"})) {
    return;
  }
  const bool per_split =
      !d.train_data_path.empty() || !d.valid_data_path.empty() || !d.test_data_path.empty();
  if (d.data_path.empty() && !d.mock_data && !per_split) {
    c.fail({"data.data_path", "data.mock_data"}, "set data.data_path or data.mock_data: true");
  } else if (!d.data_path.empty() && d.mock_data) {
    c.fail({"data.data_path", "data.mock_data"},
           "data.data_path and data.mock_data are mutually exclusive");
  } else if (per_split && (d.mock_data || !d.data_path.empty())) {
    c.fail({"data.train_data_path", "data.valid_data_path", "data.test_data_path",
            d.mock_data ? "data.mock_data" : "data.data_path"},
           "data.train_data_path, valid_data_path and test_data_path exclude data.data_path "
           "and data.mock_data");
  }
}

// "969, 30, 1": one to three non-negative numbers separated by commas, not all zero.
void split_format(RuleContext& c) {
  const std::string& split = c.r().data.split;
  if (!c.usable({"data.split"})) return;
  std::stringstream in(split);
  std::string part;
  int count = 0;
  double sum = 0;
  bool ok = true;
  while (std::getline(in, part, ',')) {
    size_t used = 0;
    double v = -1;
    try {
      v = std::stod(part, &used);
    } catch (const std::exception&) {
      ok = false;
    }
    ok = ok && v >= 0 && part.find_first_not_of(" \t", used) == std::string::npos;
    sum += v;
    ++count;
  }
  if (!ok || count < 1 || count > 3 || sum <= 0) {
    c.fail({"data.split"},
           fmt::format("data.split '{}' must be up to three non-negative numbers separated by "
                       "commas, not all zero (e.g. \"969, 30, 1\")",
                       split));
  }
}

void tokenizer_has_files(RuleContext& c) {
  const auto& t = c.r().tokenizer;
  if (!c.usable({"tokenizer.tokenizer_type", "tokenizer.vocab_file", "tokenizer.merge_file",
                 "tokenizer.tokenizer_model"}) ||
      !t.tokenizer_type) {
    return;
  }
  if (*t.tokenizer_type == "GPT2BPETokenizer" && !(t.vocab_file && t.merge_file)) {
    c.fail({"tokenizer.tokenizer_type", "tokenizer.vocab_file", "tokenizer.merge_file"},
           "tokenizer.tokenizer_type GPT2BPETokenizer needs tokenizer.vocab_file and "
           "tokenizer.merge_file");
  } else if (*t.tokenizer_type == "HuggingFaceTokenizer" && !t.tokenizer_model) {
    c.fail({"tokenizer.tokenizer_type", "tokenizer.tokenizer_model"},
           "tokenizer.tokenizer_type HuggingFaceTokenizer needs tokenizer.tokenizer_model");
  }
}

}  // namespace

void shared_devices_need_cuda(RuleContext& c) {
  const auto& t = c.r().train;
  if (c.usable({"train.ranks_per_device", "train.device"}) && t.ranks_per_device > 1 &&
      t.device != "cuda") {
    c.fail({"train.ranks_per_device", "train.device"},
           fmt::format("train.ranks_per_device ({}) shares GPUs; it needs train.device: cuda",
                       t.ranks_per_device));
  }
}

void check_rules(const FieldCheck& fields, int64_t world_size, std::vector<Error>& errors) {
  using Rule = void (*)(RuleContext&);
  static constexpr Rule kRules[] = {
      heads_divide_hidden,
      heads_divide_tensor_parallel,
      query_groups_divide_heads,
      seq_fits_positions,
      pipeline_layout_rules,
      sequence_divides_context_parallel,
      world_divides_model_parallel,
      global_batch_divisible,
      one_half_precision,
      loss_scale_bounds,
      learning_rates_ordered,
      warmup_before_decay_horizon,
      one_warmup_form,
      wsd_needs_decay_iters,
      weight_decay_schedule,
      save_needs_interval,
      one_data_source,
      split_format,
      tokenizer_has_files,
      recompute_settings,
      hybrid_pattern_settings,
      sequence_parallel_settings,
      overlap_settings,
      shared_devices_need_cuda,
  };
  RuleContext context(fields, world_size, errors);
  for (Rule rule : kRules) rule(context);
}

}  // namespace me
