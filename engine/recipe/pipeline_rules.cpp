// Pipeline layout rules. Deviation: Megatron lets a middle stage hold no layers; here every stage
// holds at least one (an empty stage would only forward its input).
#include "engine/recipe/pipeline_rules.h"

#include <fmt/format.h>

namespace me {
namespace {

constexpr const char* kLayers = "model.num_layers";
constexpr const char* kPp = "parallel.pipeline_model_parallel_size";
constexpr const char* kFirst = "parallel.decoder_first_pipeline_num_layers";
constexpr const char* kLast = "parallel.decoder_last_pipeline_num_layers";
constexpr const char* kVirtual = "parallel.num_layers_per_virtual_pipeline_stage";

void even_split(RuleContext& c, int64_t layers, int64_t pp) {
  if (layers % pp != 0) {
    c.fail({kLayers, kPp},
           fmt::format("{} ({}) must be divisible by {} ({})", kLayers, layers, kPp, pp));
  }
}

void uneven_split(RuleContext& c, int64_t layers, int64_t pp) {
  const auto& p = c.r().parallel;
  if (pp == 1) {
    c.fail({p.decoder_first_pipeline_num_layers ? kFirst : kLast, kPp},
           fmt::format("{} and {} need {} > 1", kFirst, kLast, kPp));
    return;
  }
  const int64_t first = p.decoder_first_pipeline_num_layers.value_or(0);
  const int64_t last = p.decoder_last_pipeline_num_layers.value_or(0);
  const int64_t middle = layers - first - last;
  const int64_t middle_stages = pp - (p.decoder_first_pipeline_num_layers ? 1 : 0) -
                                (p.decoder_last_pipeline_num_layers ? 1 : 0);
  const std::string counts =
      fmt::format("{} ({}) minus {} ({}) and {} ({}) leaves {} layers for {} middle stage(s)",
                  kLayers, layers, kFirst, first, kLast, last, middle, middle_stages);
  if (middle_stages == 0 ? middle != 0 : middle < middle_stages || middle % middle_stages != 0) {
    c.fail({kFirst, kLast, kLayers, kPp},
           counts + (middle_stages == 0 ? "; they must add up to the layers"
                                        : "; each middle stage needs the same number, at least 1"));
  }
}

void interleaved_split(RuleContext& c, int64_t layers, int64_t pp) {
  const auto& p = c.r().parallel;
  const int64_t per_virtual = *p.num_layers_per_virtual_pipeline_stage;
  if (p.decoder_first_pipeline_num_layers || p.decoder_last_pipeline_num_layers) {
    c.fail({kVirtual, p.decoder_first_pipeline_num_layers ? kFirst : kLast},
           fmt::format("{} cannot be combined with {} or {}", kVirtual, kFirst, kLast));
    return;
  }
  if (pp == 1) {
    c.fail({kVirtual, kPp}, fmt::format("{} needs {} > 1", kVirtual, kPp));
    return;
  }
  if (layers % pp != 0 || (layers / pp) % per_virtual != 0) {
    c.fail({kVirtual, kLayers, kPp},
           fmt::format("{} ({}) must be divisible by {} ({}) times {} ({})", kLayers, layers, kPp,
                       pp, kVirtual, per_virtual));
    return;
  }
  const auto dp = c.data_parallel_size();
  const auto& t = c.r().train;
  if (!dp || !c.usable({"train.global_batch_size", "train.micro_batch_size"})) return;
  const int64_t gbs = t.global_batch_size.value_or(t.micro_batch_size * *dp);
  const int64_t microbatches = gbs / (t.micro_batch_size * *dp);
  if (microbatches % pp != 0) {
    c.fail({kVirtual, "train.global_batch_size", kPp},
           fmt::format("the interleaved schedule ({} set) needs the number of micro-batches "
                       "(train.global_batch_size / (train.micro_batch_size * data_parallel_size) "
                       "= {}) to be divisible by {} ({})",
                       kVirtual, microbatches, kPp, pp));
  }
}

}  // namespace

void pipeline_layout_rules(RuleContext& c) {
  if (!c.usable({kLayers, kPp, kFirst, kLast, kVirtual})) return;
  const auto& p = c.r().parallel;
  const int64_t layers = c.r().model.num_layers;
  const int64_t pp = p.pipeline_model_parallel_size;
  if (p.num_layers_per_virtual_pipeline_stage) {
    interleaved_split(c, layers, pp);
  } else if (p.decoder_first_pipeline_num_layers || p.decoder_last_pipeline_num_layers) {
    uneven_split(c, layers, pp);
  } else {
    even_split(c, layers, pp);
  }
}

}  // namespace me
