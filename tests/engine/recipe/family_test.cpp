// Recipe families through two test-only families registered here exactly as a real one is: keys
// validated like any key, typed access, model.type restrictions, copies, equality, printing.
#include "engine/recipe/family.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <optional>
#include <string>

#include "engine/recipe/schema.h"
#include "tests/engine/recipe/recipe_fixture.h"

namespace me::test {

struct ProbeConfig {
  int64_t probe_width;
  double probe_ratio;
  std::string probe_mode;
  std::optional<std::string> probe_label;
};

struct EncoderProbeConfig {
  int64_t encoder_probe_depth;
};

namespace {

// Written in train:, serving gpt (the one registered model), so it can be set and printed.
FieldGroup probe_family() {
  FieldGroup group{
      .section = "train", .family = "probe", .doc = "Test-only family.", .applies_to = {"gpt"}};
  group.fields = {
      ME_FAMILY_FIELD(ProbeConfig, probe_width).def("3").in(kPositive).describe("A width."),
      ME_FAMILY_FIELD(ProbeConfig, probe_ratio).def("0.25").in(kProbability).describe("A ratio."),
      ME_FAMILY_FIELD(ProbeConfig, probe_mode)
          .def("plain")
          .one_of({"plain", "striped"})
          .describe("A mode."),
      ME_FAMILY_FIELD(ProbeConfig, probe_label).def("null").describe("A label."),
  };
  return group;
}

// Serves only model types that are not registered, so none of its keys can be set.
FieldGroup encoder_probe_family() {
  FieldGroup group{.section = "model",
                   .family = "encoder_probe",
                   .doc = "Test-only family of encoder models.",
                   .applies_to = {"bert_probe", "t5_probe"}};
  group.fields = {
      ME_FAMILY_FIELD(EncoderProbeConfig, encoder_probe_depth)
          .def("2")
          .in(kPositive)
          .describe("A depth."),
  };
  return group;
}

ME_RECIPE_FAMILY(ProbeConfig, probe_family);
ME_RECIPE_FAMILY(EncoderProbeConfig, encoder_probe_family);

using Lines = std::vector<std::string>;

Recipe load_child(const RecipeDir& dir, const std::string& child_text,
                  const std::vector<std::string>& overrides = {}) {
  dir.write("minimal.yaml", kMinimalRecipe);
  return load_recipe(dir.write("child.yaml", "base: minimal.yaml\n" + child_text), overrides);
}

}  // namespace

TEST_CASE("a family's fields follow its section's common fields, with its file and models") {
  const FieldGroup* probe = nullptr;
  size_t train_common = 0, probe_at = 0;
  const auto& groups = recipe_field_groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    if (groups[i].section == "train" && groups[i].family.empty()) train_common = i;
    if (groups[i].family == "probe") probe = &groups[probe_at = i];
  }
  REQUIRE(probe != nullptr);
  CHECK(probe_at > train_common);
  CHECK(groups[probe_at - 1].section == "train");
  CHECK(probe->file == "tests/engine/recipe/family_test.cpp");
  const Field* width = find_field("train", "probe_width");
  REQUIRE(width != nullptr);
  CHECK(width->family == "probe");
  CHECK(width->applies_to == std::vector<std::string>{"gpt"});
  CHECK(width->applies_to_model("gpt"));
  CHECK_FALSE(width->applies_to_model("bert_probe"));
}

TEST_CASE("family keys are validated like any key: unknown, wrong type, range, choices") {
  RecipeDir dir;
  const std::string child = dir.path("child.yaml");
  CHECK(child_errors(dir,
                     "train:\n"
                     "  probe_widht: 4\n"        // line 3
                     "  probe_width: 2.5\n"      // line 4
                     "  probe_ratio: 1.0\n"      // line 5
                     "  probe_mode: stripe\n"    // line 6
                     "  probe_label: [a]\n") ==  // line 7
        Lines{
            fmt::format("{}:3:3: error: unknown key 'probe_widht' in 'train'; did you mean "
                        "'probe_width'?",
                        child),
            fmt::format("{}:4:3: error: 'train.probe_width': expected int, got float 2.5", child),
            fmt::format("{}:5:3: error: 'train.probe_ratio' = 1.0 is out of range: must be [0, 1)",
                        child),
            fmt::format("{}:6:3: error: 'train.probe_mode' = 'stripe' is not one of: plain, "
                        "striped; did you mean 'striped'?",
                        child),
            fmt::format("{}:7:3: error: 'train.probe_label': expected string or null, got a list",
                        child),
        });
}

TEST_CASE("family values are read typed, defaults included") {
  RecipeDir dir;
  const Recipe defaults = load_child(dir, "");
  const ProbeConfig& d = defaults.family<ProbeConfig>();
  CHECK(d.probe_width == 3);
  CHECK(d.probe_ratio == 0.25);
  CHECK(d.probe_mode == "plain");
  CHECK(!d.probe_label);
  CHECK(defaults.family<EncoderProbeConfig>().encoder_probe_depth == 2);

  const Recipe set = load_child(dir, "train:\n  probe_width: 7\n  probe_label: wide\n",
                                {"train.probe_mode=striped", "train.probe_width=9"});
  const ProbeConfig& s = set.family<ProbeConfig>();
  CHECK(s.probe_width == 9);  // the command line wins over the file
  CHECK(s.probe_ratio == 0.25);
  CHECK(s.probe_mode == "striped");
  CHECK(s.probe_label == std::optional<std::string>("wide"));
}

TEST_CASE("a family key under a model.type the family does not serve is an error") {
  RecipeDir dir;
  const std::string child = dir.path("child.yaml");
  CHECK(child_errors(dir, "model:\n  encoder_probe_depth: 4\n") ==
        Lines{fmt::format("{}:3:3: error: 'model.encoder_probe_depth' (family encoder_probe of "
                          "'model') applies to model.type bert_probe, t5_probe, not 'gpt'",
                          child)});
  CHECK(child_errors(dir, "", {"model.encoder_probe_depth=4"}) ==
        Lines{"<command line>: error: 'model.encoder_probe_depth' (family encoder_probe of "
              "'model') applies to model.type bert_probe, t5_probe, not 'gpt'"});
  // A rejected value is reported once, as what it is.
  CHECK(child_errors(dir, "model:\n  encoder_probe_depth: 0\n") ==
        Lines{fmt::format("{}:3:3: error: 'model.encoder_probe_depth' = 0 is out of range: must "
                          "be >= 1",
                          child)});
  // With model.type itself rejected there is no type to hold the key against.
  CHECK(child_errors(dir, "model:\n  type: gtp\n  encoder_probe_depth: 4\n") ==
        Lines{fmt::format("{}:3:3: error: 'model.type' = 'gtp' is not a registered model (known: "
                          "gpt); did you mean 'gpt'?",
                          child)});
}

TEST_CASE("copies clone family sections, and equality compares them") {
  RecipeDir dir;
  const Recipe a = load_child(dir, "train:\n  probe_width: 7\n");
  Recipe b = a;
  CHECK(b == a);
  b.family<ProbeConfig>().probe_width = 8;
  CHECK_FALSE(b == a);
  CHECK(a.family<ProbeConfig>().probe_width == 7);  // not shared with the copy

  Recipe c{};
  c = b;
  CHECK(c == b);
  c.family<ProbeConfig>().probe_label = "x";
  CHECK_FALSE(c == b);
  c = b;
  CHECK(c == b);

  // A family that does not serve gpt still compares (it holds its defaults).
  Recipe d = a;
  d.family<EncoderProbeConfig>().encoder_probe_depth = 5;
  CHECK_FALSE(d == a);

  const Recipe moved = std::move(b);
  CHECK(moved.family<ProbeConfig>().probe_width == 8);
}

TEST_CASE("a recipe that never set a family reads it value-initialized, as Recipe{} does") {
  const Recipe empty{};
  CHECK(empty.family<ProbeConfig>().probe_width == 0);
  CHECK(empty.family<ProbeConfig>().probe_mode.empty());
  Recipe touched{};
  touched.family<ProbeConfig>();  // created, value-initialized
  CHECK(touched == empty);
}

TEST_CASE("a config type no ME_RECIPE_FAMILY line registered is refused") {
  struct Unregistered {
    int x;
  };
  Recipe r{};
  const Recipe& view = r;
  CHECK(view.family<Unregistered>().x == 0);  // reading an unset section creates nothing
  CHECK_THROWS_AS(r.family<Unregistered>() = Unregistered{1}, InternalError);
}

TEST_CASE("--print-recipe shows a family's keys in its section and reads them back") {
  RecipeDir dir;
  const Recipe r = load_child(dir, "train:\n  probe_width: 7\n  probe_mode: striped\n");
  const std::string yaml = recipe_to_yaml(r);
  const size_t train = yaml.find("\ntrain:\n");
  const size_t optimizer = yaml.find("\noptimizer:\n");
  const size_t width = yaml.find("\n  probe_width: 7\n");
  REQUIRE(width != std::string::npos);
  CHECK(train < width);
  CHECK(width < optimizer);
  CHECK(yaml.find("\n  probe_mode: \"striped\"\n") != std::string::npos);
  CHECK(yaml.find("\n  probe_label: ~\n") != std::string::npos);
  // The encoder family does not serve gpt: printing it would make the text unreadable.
  CHECK(yaml.find("encoder_probe_depth") == std::string::npos);
  const Recipe back = parse_recipe(yaml, r.source);
  CHECK(back.family<ProbeConfig>().probe_width == 7);
  CHECK(back == r);
}

}  // namespace me::test
