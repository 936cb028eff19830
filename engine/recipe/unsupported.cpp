// The engine's current limits as recipe errors: Megatron accepts these settings, this engine does
// not run them yet, and saying so beats silently training something else.
#include <fmt/format.h>

#include "engine/recipe/rule_context.h"
#include "engine/recipe/rules.h"

namespace me {
namespace {

// "'<key>' = <value>: <what> is not supported yet (issue area: <area>); <instead>".
void not_supported(RuleContext& c, std::initializer_list<const char*> keys,
                   const std::string& setting, const std::string& what, const char* area,
                   const std::string& instead) {
  c.fail(keys, fmt::format("{}: {} is not supported yet (issue area: {}); {}", setting, what, area,
                           instead));
}

void model_parallelism(RuleContext& c) {
  const auto& p = c.r().parallel;
  if (p.context_parallel_size > 1) {
    not_supported(c, {"parallel.context_parallel_size"},
                  fmt::format("'parallel.context_parallel_size' = {}", p.context_parallel_size),
                  "context parallelism", "engine/parallel", "use 1");
  }
}

void model_architecture(RuleContext& c) {
  const auto& m = c.r().model;
  if (m.position_embedding_type != "learned_absolute" && m.position_embedding_type != "rope") {
    not_supported(c, {"model.position_embedding_type"},
                  fmt::format("'model.position_embedding_type' = '{}'", m.position_embedding_type),
                  "this position embedding", "engine/nn", "use learned_absolute or rope");
  }
}

void half_precision_on_cpu(RuleContext& c) {
  const auto& mp = c.r().mixed_precision;
  if (c.r().train.device != "cpu") return;
  for (const auto& [on, key] :
       {std::pair{mp.bf16, "mixed_precision.bf16"}, std::pair{mp.fp16, "mixed_precision.fp16"}}) {
    if (on) {
      not_supported(
          c, {key, "train.device"}, fmt::format("'{}' = true with 'train.device' = 'cpu'", key),
          "half precision on the CPU", "kernels/cpu", "set train.device: cuda or turn it off");
    }
  }
}

void optimizer_kind(RuleContext& c) {
  const std::string& name = c.r().optimizer.optimizer;
  if (name != "adam" && name != "sgd") {
    not_supported(c, {"optimizer.optimizer"}, fmt::format("'optimizer.optimizer' = '{}'", name),
                  "this optimizer", "engine/optim", "use adam or sgd");
  }
}

}  // namespace

void check_unsupported(const FieldCheck& fields, int64_t world_size, std::vector<Error>& errors) {
  RuleContext context(fields, world_size, errors);
  model_parallelism(context);
  model_architecture(context);
  half_precision_on_cpu(context);
  optimizer_kind(context);
}

}  // namespace me
