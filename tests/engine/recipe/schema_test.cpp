// The schema table itself: consistent defaults, unique keys, docs for every field, and the keys
// the brief makes required.
#include "engine/recipe/schema.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

namespace me::test {

TEST_CASE("every field has a known section, a unique key, a doc and an allowed default") {
  std::set<std::string> sections;
  for (const auto& s : recipe_sections()) sections.insert(s.name);
  std::set<std::string> paths;
  for (const auto& f : recipe_schema()) {
    CAPTURE(f.path());
    CHECK(sections.count(f.section) == 1);
    CHECK(paths.insert(f.path()).second);
    CHECK(!f.doc.empty());
    if (f.default_value) CHECK(check_allowed(f, *f.default_value) == "");
    if (!f.choices.empty()) CHECK(f.type.base == FieldType::kString);
  }
  // 87 + 3 per-split data paths + 10 Llama fields + 2 NaN guard fields + 3 loss-spike guard
  // fields + async_save + 2 TensorBoard fields + 3 data-parallel fields + 3 fault-injection fields
  // + 3 recompute fields + train.ranks_per_device + parallel.overlap_param_gather +
  // model.hybrid_override_pattern; the test-only families of family_test.cpp are not counted.
  size_t engine_fields = 0;
  for (const auto& group : recipe_field_groups()) {
    if (!group.file.starts_with("tests/")) engine_fields += group.fields.size();
  }
  CHECK(engine_fields == 125);
}

TEST_CASE("each core section is one file; each family serves registered models") {
  std::vector<std::string> core;
  for (const auto& group : recipe_field_groups()) {
    CAPTURE(group.file);
    if (group.family.empty()) {
      core.push_back(group.section);
      CHECK(group.file == "engine/recipe/sections/" + group.section + ".cpp");
      CHECK(group.applies_to.empty());
    } else if (!group.file.starts_with("tests/")) {
      for (const auto& model : group.applies_to) {
        const auto models = registered_names("model");
        CHECK(std::find(models.begin(), models.end(), model) != models.end());
      }
    }
  }
  CHECK(core == std::vector<std::string>{"model", "parallel", "data", "tokenizer", "train",
                                         "optimizer", "scheduler", "mixed_precision", "checkpoint",
                                         "logging"});
}

TEST_CASE("required fields are exactly the ones without a sensible default") {
  std::set<std::string> required;
  for (const auto& f : recipe_schema()) {
    if (f.required()) required.insert(f.path());
  }
  CHECK(required == std::set<std::string>{"model.num_layers", "model.hidden_size",
                                          "model.num_attention_heads", "model.seq_length",
                                          "model.max_position_embeddings", "train.micro_batch_size",
                                          "train.train_iters", "optimizer.lr"});
}

TEST_CASE("each field writes and reads its own struct member") {
  // Setting field i to a distinct non-default value must change only what field i reads.
  Recipe r{};
  for (const auto& f : recipe_schema()) {
    if (f.default_value) f.set(r, *f.default_value);
  }
  for (const auto& f : recipe_schema()) {
    CAPTURE(f.path());
    Value probe;
    switch (f.type.base) {
      case FieldType::kInt:
        probe = int64_t{987654};
        break;
      case FieldType::kFloat:
        probe = 0.123456;
        break;
      case FieldType::kBool:
        probe = !(f.default_value && std::get<bool>(*f.default_value));
        break;
      case FieldType::kString:
        probe = std::string("probe");
        break;
      case FieldType::kStringList:
        probe = std::vector<std::string>{"probe"};
        break;
    }
    std::vector<Value> before;
    for (const auto& g : recipe_schema()) before.push_back(g.get(r));
    Recipe changed = r;
    f.set(changed, probe);
    CHECK(f.get(changed) == probe);
    for (size_t i = 0; i < recipe_schema().size(); ++i) {
      const Field& g = recipe_schema()[i];
      if (&g != &f) CHECK(g.get(changed) == before[i]);
    }
  }
}

}  // namespace me::test
