// The loaded recipe: Megatron's defaults filled in, derived values, the YAML round trip, and the
// recipes shipped under recipes/gpt/.
#include "engine/recipe/recipe.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <filesystem>

#include "tests/engine/recipe/recipe_fixture.h"

namespace me::test {

using Lines = std::vector<std::string>;

TEST_CASE("unset keys take Megatron-LM's defaults") {
  RecipeDir dir;
  const Recipe r = load_recipe(dir.write("r.yaml", kMinimalRecipe), {});
  CHECK(r.model.type == "gpt");
  CHECK(!r.model.ffn_hidden_size);
  CHECK(!r.model.kv_channels);
  CHECK(r.model.num_query_groups == 1);
  CHECK(r.model.position_embedding_type == "learned_absolute");
  CHECK(r.model.normalization == "LayerNorm");
  CHECK(r.model.layernorm_epsilon == 1e-5);
  CHECK(r.model.add_bias_linear == true);
  CHECK(r.model.untie_embeddings_and_output_weights == false);
  CHECK(r.model.hidden_dropout == 0.1);
  CHECK(r.model.attention_dropout == 0.1);
  CHECK(r.model.init_method_std == 0.02);
  CHECK(r.model.make_vocab_size_divisible_by == 128);
  CHECK(r.parallel.tensor_model_parallel_size == 1);
  CHECK(r.parallel.pipeline_model_parallel_size == 1);
  CHECK(r.parallel.context_parallel_size == 1);
  CHECK(r.data.split == "969, 30, 1");
  CHECK(!r.tokenizer.tokenizer_type);
  CHECK(r.train.device == "cpu");
  CHECK(!r.train.global_batch_size);
  CHECK(!r.train.eval_interval);
  CHECK(r.train.eval_iters == 100);
  CHECK(r.train.seed == 1234);
  CHECK(r.train.exit_signal_handler == true);  // deviation from Megatron, documented
  CHECK(r.optimizer.optimizer == "adam");
  CHECK(r.optimizer.min_lr == 0.0);
  CHECK(r.optimizer.weight_decay == 0.01);
  CHECK(r.optimizer.weight_decay_incr_style == "constant");
  CHECK(r.optimizer.clip_grad == 1.0);
  CHECK(r.optimizer.adam_beta1 == 0.9);
  CHECK(r.optimizer.adam_beta2 == 0.999);
  CHECK(r.optimizer.adam_eps == 1e-8);
  CHECK(r.optimizer.sgd_momentum == 0.9);
  CHECK(r.scheduler.lr_decay_style == "linear");
  CHECK(r.scheduler.lr_warmup_iters == 0);
  CHECK(r.scheduler.lr_warmup_init == 0.0);
  CHECK(r.scheduler.lr_wsd_decay_style == "exponential");
  CHECK(r.mixed_precision.bf16 == false);
  CHECK(r.mixed_precision.fp16 == false);
  CHECK(!r.mixed_precision.loss_scale);
  CHECK(r.mixed_precision.initial_loss_scale == 4294967296.0);  // 2^32
  CHECK(r.mixed_precision.min_loss_scale == 1.0);
  CHECK(r.mixed_precision.loss_scale_window == 1000.0);
  CHECK(r.mixed_precision.hysteresis == 2);
  CHECK(!r.checkpoint.save);
  CHECK(r.logging.log_interval == 100);
  CHECK(!r.logging.metrics_file);
}

TEST_CASE("derived values: data parallel size, batch split, widths, query groups") {
  RecipeDir dir;
  const std::string path = dir.write("r.yaml", kMinimalRecipe);
  // world 8, mbs 2, gbs 32: dp 8, 32 / (2 * 8) = 2 micro-batches; h 64, a 4.
  const Recipe r = load_recipe(path, {"train.global_batch_size=32"}, 8);
  CHECK(r.derived.world_size == 8);
  CHECK(r.derived.data_parallel_size == 8);
  CHECK(r.derived.global_batch_size == 32);
  CHECK(r.derived.num_microbatches == 2);
  CHECK(r.derived.ffn_hidden_size == 256);
  CHECK(r.derived.kv_channels == 16);
  CHECK(r.derived.num_query_groups == 4);

  const Recipe d = load_recipe(path,
                               {"model.group_query_attention=true", "model.num_query_groups=2",
                                "model.ffn_hidden_size=100", "model.kv_channels=8"},
                               3);
  CHECK(d.derived.data_parallel_size == 3);
  CHECK(d.derived.global_batch_size == 6);  // mbs * dp
  CHECK(d.derived.num_microbatches == 1);
  CHECK(d.derived.ffn_hidden_size == 100);
  CHECK(d.derived.kv_channels == 8);
  CHECK(d.derived.num_query_groups == 2);

  CHECK(resolve(d, 1).global_batch_size == 2);
}

TEST_CASE("a world size below one is an error") {
  RecipeDir dir;
  CHECK(load_errors(dir.write("r.yaml", kMinimalRecipe), {}, 0) ==
        Lines{"world size must be >= 1, got 0"});
}

TEST_CASE("recipe_to_yaml lists every field and parses back to an equal recipe") {
  RecipeDir dir;
  const std::string path = dir.write("r.yaml", kMinimalRecipe);
  // Optionals set, strings that look like other types, a list, non-default floats.
  const Recipe r = load_recipe(
      path,
      {"checkpoint.save=\"null\"", "checkpoint.save_interval=7", "checkpoint.load='true'",
       "data.data_path=[\"a b.h5\", '3', \"q\\\"uote\"]", "data.mock_data=false",
       "optimizer.lr=0.1", "optimizer.min_lr=1e-7", "optimizer.adam_eps=3.0e-9",
       "logging.metrics_file='m: x.jsonl'", "tokenizer.vocab_size=50257",
       "train.global_batch_size=8", "mixed_precision.loss_scale=128"},
      2);
  CHECK(r.checkpoint.save == std::optional<std::string>("null"));
  CHECK(r.data.data_path == std::vector<std::string>{"a b.h5", "3", "q\"uote"});
  const std::string yaml = recipe_to_yaml(r);
  CHECK(yaml.find("weight_decay: 0.01\n") != std::string::npos);
  CHECK(yaml.find("lr_decay_style: \"linear\"\n") != std::string::npos);
  CHECK(yaml.find("ffn_hidden_size: ~\n") != std::string::npos);
  CHECK(yaml.find("derived:") != std::string::npos);
  CHECK(yaml.find("  num_microbatches: 2\n") != std::string::npos);  // 8 / (2 * 2)
  const Recipe back = parse_recipe(yaml, r.source, 2);
  CHECK(back == r);

  const Recipe tiny = load_recipe(std::string(ME_SOURCE_DIR) + "/recipes/gpt/gpt_tiny.yaml", {});
  CHECK(parse_recipe(recipe_to_yaml(tiny), tiny.source) == tiny);
}

TEST_CASE("a derived block is ignored when parsed") {
  RecipeDir dir;
  const Recipe r = load_recipe(
      dir.write("r.yaml", std::string(kMinimalRecipe) + "derived: {world_size: 99, nonsense: 1}\n"),
      {});
  CHECK(r.derived.world_size == 1);
}

namespace {

std::vector<std::filesystem::path> shipped_gpt_recipes() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(ME_SOURCE_DIR) + "/recipes/gpt")) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST_CASE("every shipped GPT recipe validates, gpt3_175b on its 1024 ranks") {
  const auto files = shipped_gpt_recipes();
  REQUIRE(files.size() >= 4);
  for (const auto& file : files) {
    const std::string name = file.filename().string();
    CAPTURE(name);
    // *_base.yaml files hold shared settings for `base:` and are not complete recipes.
    if (name.size() > 10 && name.substr(name.size() - 10) == "_base.yaml") continue;
    if (name == "gpt3_175b.yaml") {
      // 1024 GPUs as in Megatron's run: dp = 1024 / (8 * 16) = 8 divides the 1536 batch.
      CHECK(load_errors(file.string(), {}, 1024) == Lines{});
      continue;
    }
    CHECK(load_errors(file.string()) == Lines{});
  }
}

TEST_CASE("the shipped recipes hold the values they advertise") {
  const std::string gpt = std::string(ME_SOURCE_DIR) + "/recipes/gpt/";
  const Recipe tiny = load_recipe(gpt + "gpt_tiny.yaml", {});
  CHECK(tiny.train.device == "cpu");
  CHECK(tiny.tokenizer.tokenizer_type == std::optional<std::string>("byte"));
  CHECK(tiny.data.data_path == std::vector<std::string>{"data/fortunes.h5"});
  CHECK(tiny.scheduler.lr_decay_style == "cosine");  // from gpt_base.yaml
  CHECK(tiny.derived.num_microbatches == 2);

  const Recipe gpt2 = load_recipe(gpt + "gpt2_124m.yaml", {});
  CHECK(gpt2.model.num_layers == 12);
  CHECK(gpt2.model.hidden_size == 768);
  CHECK(gpt2.optimizer.lr == 6e-4);
  CHECK(gpt2.optimizer.min_lr == 6e-5);
  CHECK(gpt2.optimizer.adam_beta2 == 0.95);  // from gpt_base.yaml
  CHECK(gpt2.scheduler.lr_warmup_iters == 2000);
  CHECK(gpt2.derived.ffn_hidden_size == 3072);
  CHECK(gpt2.derived.kv_channels == 64);
  CHECK(gpt2.derived.num_microbatches == 64);  // 512 / 8
}

}  // namespace me::test
