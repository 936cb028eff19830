// Cross-field rules and "not supported yet" limits: each rule's exact message, reported at one of
// its keys, and silent when the combination is valid.
#include "engine/recipe/rules.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "tests/engine/recipe/recipe_fixture.h"

namespace me::test {

using Lines = std::vector<std::string>;

namespace {

// "child.yaml:LINE:COL: error: MESSAGE"
std::string at(const RecipeDir& dir, int line, const std::string& message, int column = 3) {
  return fmt::format("{}:{}:{}: error: {}", dir.path("child.yaml"), line, column, message);
}

}  // namespace

TEST_CASE("hidden_size must divide by num_attention_heads unless kv_channels is set") {
  RecipeDir dir;
  const std::string model = "model:\n  hidden_size: 100\n  num_attention_heads: 3\n";
  CHECK(child_errors(dir, model) ==
        Lines{at(dir, 3,
                 "model.hidden_size (100) must be divisible by model.num_attention_heads (3), or "
                 "set model.kv_channels")});
  CHECK(child_errors(dir, model + "  kv_channels: 32\n").empty());
}

TEST_CASE("a rule is skipped when one of its keys was rejected") {
  RecipeDir dir;
  CHECK(child_errors(dir, "model:\n  hidden_size: abc\n  num_attention_heads: 3\n") ==
        Lines{at(dir, 3, "'model.hidden_size': expected int, got string \"abc\"")});
}

TEST_CASE("num_attention_heads must divide by tensor_model_parallel_size") {
  RecipeDir dir;
  CHECK(child_errors(dir, "parallel:\n  tensor_model_parallel_size: 3\n", {}, 3) ==
        Lines{fmt::format("{}:4:3: error: model.num_attention_heads (4) must be divisible by "
                          "parallel.tensor_model_parallel_size (3)",
                          dir.path("minimal.yaml"))});
}

TEST_CASE("world size must divide by tp * pp * cp") {
  RecipeDir dir;
  CHECK(child_errors(dir, "parallel:\n  tensor_model_parallel_size: 2\n", {}, 3) ==
        Lines{at(dir, 3,
                 "world size 3 must be divisible by parallel.tensor_model_parallel_size * "
                 "parallel.pipeline_model_parallel_size * parallel.context_parallel_size "
                 "(2 * 1 * 1)")});
}

TEST_CASE("global_batch_size must divide by micro_batch_size * data_parallel_size") {
  RecipeDir dir;
  CHECK(child_errors(dir, "train:\n  global_batch_size: 5\n") ==
        Lines{at(dir, 3,
                 "train.global_batch_size (5) must be divisible by train.micro_batch_size * "
                 "data_parallel_size (2 * 1)")});
  CHECK(child_errors(dir, "train:\n  global_batch_size: 6\n", {}, 2) ==
        Lines{at(dir, 3,
                 "train.global_batch_size (6) must be divisible by train.micro_batch_size * "
                 "data_parallel_size (2 * 2)")});
  CHECK(child_errors(dir, "train:\n  global_batch_size: 8\n", {}, 2).empty());
}

TEST_CASE("seq_length must fit max_position_embeddings") {
  RecipeDir dir;
  CHECK(child_errors(dir, "model:\n  seq_length: 64\n") ==
        Lines{at(dir, 3, "model.seq_length (64) must be <= model.max_position_embeddings (32)")});
}

TEST_CASE("bf16 and fp16 are mutually exclusive") {
  RecipeDir dir;
  CHECK(
      child_errors(dir, "train:\n  device: cuda\nmixed_precision:\n  bf16: true\n  fp16: true\n") ==
      Lines{at(dir, 6, "mixed_precision.bf16 and mixed_precision.fp16 are mutually exclusive")});
  CHECK(child_errors(dir, "train:\n  device: cuda\nmixed_precision:\n  bf16: true\n").empty());
}

TEST_CASE("min_lr and lr_warmup_init must not exceed lr") {
  RecipeDir dir;
  CHECK(child_errors(dir, "optimizer:\n  min_lr: 0.01\n") ==
        Lines{at(dir, 3, "optimizer.min_lr (0.01) must be <= optimizer.lr (0.001)")});
  CHECK(child_errors(dir, "scheduler:\n  lr_warmup_init: 0.1\n") ==
        Lines{at(dir, 3, "scheduler.lr_warmup_init (0.1) must be <= optimizer.lr (0.001)")});
}

TEST_CASE("lr_warmup_iters must end before the decay horizon") {
  RecipeDir dir;
  CHECK(child_errors(dir, "scheduler:\n  lr_warmup_iters: 10\n") ==
        Lines{at(dir, 3,
                 "scheduler.lr_warmup_iters (10) must be < the decay horizon train.train_iters "
                 "(10) since scheduler.lr_decay_iters is null")});
  CHECK(child_errors(dir, "scheduler:\n  lr_warmup_iters: 5\n  lr_decay_iters: 5\n") ==
        Lines{at(dir, 3,
                 "scheduler.lr_warmup_iters (5) must be < the decay horizon "
                 "scheduler.lr_decay_iters (5)")});
  CHECK(child_errors(dir, "scheduler:\n  lr_warmup_iters: 9\n").empty());
}

TEST_CASE("lr_warmup_fraction excludes lr_warmup_iters > 0") {
  RecipeDir dir;
  CHECK(child_errors(dir, "scheduler:\n  lr_warmup_fraction: 0.1\n  lr_warmup_iters: 2\n") ==
        Lines{at(dir, 3,
                 "scheduler.lr_warmup_fraction and scheduler.lr_warmup_iters > 0 are mutually "
                 "exclusive; set one")});
  CHECK(child_errors(dir, "scheduler:\n  lr_warmup_fraction: 0.1\n").empty());
}

TEST_CASE("WSD needs lr_wsd_decay_iters") {
  RecipeDir dir;
  CHECK(child_errors(dir, "scheduler:\n  lr_decay_style: WSD\n") ==
        Lines{at(dir, 3, "scheduler.lr_decay_style 'WSD' needs scheduler.lr_wsd_decay_iters")});
  CHECK(child_errors(dir, "scheduler:\n  lr_decay_style: WSD\n  lr_wsd_decay_iters: 4\n").empty());
}

TEST_CASE("save needs save_interval") {
  RecipeDir dir;
  CHECK(child_errors(dir, "checkpoint:\n  save: ckpt\n") ==
        Lines{at(dir, 3, "checkpoint.save is set but checkpoint.save_interval is not")});
  CHECK(child_errors(dir, "checkpoint:\n  save: ckpt\n  save_interval: 5\n").empty());
}

TEST_CASE("group_query_attention needs num_query_groups dividing num_attention_heads") {
  RecipeDir dir;
  CHECK(child_errors(dir, "model:\n  group_query_attention: true\n  num_query_groups: 3\n") ==
        Lines{at(dir, 4,
                 "with model.group_query_attention, model.num_attention_heads (4) must be "
                 "divisible by model.num_query_groups (3)")});
  // Without the flag num_query_groups is ignored, as in Megatron.
  CHECK(child_errors(dir, "model:\n  num_query_groups: 3\n").empty());
}

TEST_CASE("pipeline stages must divide num_layers; context parallel must divide seq_length") {
  RecipeDir dir;
  CHECK(child_errors(dir, "parallel:\n  pipeline_model_parallel_size: 2\nmodel:\n  num_layers: 3\n",
                     {}, 2) ==
        Lines{at(dir, 5,
                 "model.num_layers (3) must be divisible by "
                 "parallel.pipeline_model_parallel_size (2)")});
  CHECK(child_errors(dir, "parallel:\n  context_parallel_size: 2\nmodel:\n  seq_length: 30\n", {},
                     2) ==
        Lines{at(dir, 5,
                 "model.seq_length (30) must be divisible by 2 * parallel.context_parallel_size "
                 "(4)"),
              at(dir, 3,
                 "'parallel.context_parallel_size' = 2: context parallelism is not supported yet "
                 "(issue area: engine/parallel); use 1")});
}

TEST_CASE("weight decay start and end go with a non-constant increment style") {
  RecipeDir dir;
  CHECK(child_errors(dir, "optimizer:\n  start_weight_decay: 0.0\n") ==
        Lines{at(dir, 3,
                 "optimizer.start_weight_decay and optimizer.end_weight_decay need a "
                 "non-constant optimizer.weight_decay_incr_style (constant uses "
                 "optimizer.weight_decay)")});
  CHECK(child_errors(dir,
                     "optimizer:\n  weight_decay_incr_style: linear\n  end_weight_decay: 0.1\n") ==
        Lines{at(dir, 3,
                 "optimizer.weight_decay_incr_style 'linear' needs both "
                 "optimizer.start_weight_decay and optimizer.end_weight_decay")});
  CHECK(child_errors(dir,
                     "optimizer:\n  weight_decay_incr_style: cosine\n  start_weight_decay: 0.0\n"
                     "  end_weight_decay: 0.1\n")
            .empty());
}

TEST_CASE("exactly one data source") {
  RecipeDir dir;
  CHECK(child_errors(dir, "data:\n  data_path: [a.h5]\n") ==
        Lines{at(dir, 3, "data.data_path and data.mock_data are mutually exclusive")});
  CHECK(child_errors(dir, "data:\n  mock_data: false\n") ==
        Lines{at(dir, 3, "set data.data_path or data.mock_data: true")});
  CHECK(child_errors(dir, "data:\n  mock_data: false\n  data_path: [0.3, a.h5, 0.7, b.h5]\n")
            .empty());
  CHECK(child_errors(dir, "data:\n  mock_data: false\n  train_data_path: [a.h5]\n").empty());
  const std::string exclusive =
      "data.train_data_path, valid_data_path and test_data_path exclude data.data_path and "
      "data.mock_data";
  CHECK(child_errors(
            dir, "data:\n  mock_data: false\n  data_path: [a.h5]\n  train_data_path: [b.h5]\n") ==
        Lines{at(dir, 5, exclusive)});
  CHECK(child_errors(dir, "data:\n  valid_data_path: [b.h5]\n") == Lines{at(dir, 3, exclusive)});
}

TEST_CASE("split is up to three non-negative numbers, not all zero") {
  RecipeDir dir;
  for (const std::string bad : {"90,a", "1,2,3,4", "0,0,0", "-1, 2", "", "5 6"}) {
    CAPTURE(bad);
    CHECK(child_errors(dir, "data:\n  split: \"" + bad + "\"\n") ==
          Lines{at(dir, 3,
                   fmt::format("data.split '{}' must be up to three non-negative numbers "
                               "separated by commas, not all zero (e.g. \"969, 30, 1\")",
                               bad))});
  }
  for (const std::string good : {"98,2,0", "100", "969, 30, 1", "0.8, 0.2"}) {
    CAPTURE(good);
    CHECK(child_errors(dir, "data:\n  split: \"" + good + "\"\n").empty());
  }
}

TEST_CASE("tokenizers name the files they need") {
  RecipeDir dir;
  CHECK(
      child_errors(dir, "tokenizer:\n  tokenizer_type: GPT2BPETokenizer\n  vocab_file: v.json\n") ==
      Lines{at(dir, 3,
               "tokenizer.tokenizer_type GPT2BPETokenizer needs tokenizer.vocab_file and "
               "tokenizer.merge_file")});
  CHECK(child_errors(dir, "tokenizer:\n  tokenizer_type: HuggingFaceTokenizer\n") ==
        Lines{at(dir, 3,
                 "tokenizer.tokenizer_type HuggingFaceTokenizer needs tokenizer.tokenizer_model")});
  CHECK(child_errors(dir, "tokenizer:\n  tokenizer_type: byte\n").empty());
}

TEST_CASE("min_loss_scale must not exceed initial_loss_scale") {
  RecipeDir dir;
  CHECK(child_errors(dir, "mixed_precision:\n  min_loss_scale: 8589934592\n") ==
        Lines{at(dir, 3,
                 "mixed_precision.min_loss_scale (8589934592) must be <= "
                 "mixed_precision.initial_loss_scale (4294967296)")});
}

TEST_CASE("settings the engine cannot run yet are errors naming the key and the area") {
  RecipeDir dir;
  const std::string child =
      "parallel:\n"
      "  tensor_model_parallel_size: 2\n"    // 3
      "  pipeline_model_parallel_size: 2\n"  // 4: runs on the CPU, so no error
      "  context_parallel_size: 2\n"         // 5
      "  sequence_parallel: true\n"          // 6: runs with tp 2, so no error
      "  use_distributed_optimizer: true\n"  // 7: runs with tp and pp
      "model:\n"
      "  position_embedding_type: yarn\n"  // 9
      "  normalization: RMSNorm\n"         // 10: runs, so no error
      "mixed_precision:\n"
      "  bf16: true\n"  // 12
      "optimizer:\n"
      "  optimizer: lion\n";  // 14
  CHECK(child_errors(dir, child, {}, 8) ==
        Lines{
            at(dir, 5,
               "'parallel.context_parallel_size' = 2: context parallelism is not supported yet "
               "(issue area: engine/parallel); use 1"),
            at(dir, 9,
               "'model.position_embedding_type' = 'yarn': this position embedding is not "
               "supported yet (issue area: engine/nn); use learned_absolute or rope"),
            at(dir, 12,
               "'mixed_precision.bf16' = true with 'train.device' = 'cpu': half precision on the "
               "CPU is not supported yet (issue area: kernels/cpu); set train.device: cuda or "
               "turn it off"),
            at(dir, 14,
               "'optimizer.optimizer' = 'lion': this optimizer is not supported yet (issue "
               "area: engine/optim); use adam or sgd"),
        });
  CHECK(child_errors(dir, "mixed_precision:\n  fp16: true\n") ==
        Lines{at(dir, 3,
                 "'mixed_precision.fp16' = true with 'train.device' = 'cpu': half precision on "
                 "the CPU is not supported yet (issue area: kernels/cpu); set train.device: cuda "
                 "or turn it off")});
  CHECK(child_errors(dir, "optimizer:\n  optimizer: sgd\n").empty());
}

}  // namespace me::test
