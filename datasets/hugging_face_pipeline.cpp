// tokenizer.json's normalizer / pre_tokenizer / post_processor: each node is checked against the
// few shapes byte-level BPE models use (GPT-2, Llama-3), and refused by its JSON path otherwise.
#include "datasets/hugging_face_pipeline.h"

#include <fmt/format.h>

#include "engine/core/error.h"

namespace me {
namespace {

using nlohmann::json;

std::string type_of(const json& j) {
  return j.is_object() ? j.value("type", std::string("?")) : j.dump();
}

bool flag(const json& node, const char* key, bool fallback) {
  return node.contains(key) && node[key].is_boolean() ? node[key].get<bool>() : fallback;
}

class Reader {
 public:
  Reader(const std::string& path, BpeModel& model) : path_(path), model_(model) {}

  [[noreturn]] void refuse(const std::string& json_path, const std::string& what) const {
    throw Error(fmt::format("{} {} is not supported; {}", json_path, what, supported_), path_);
  }

  void normalizer(const json& root) {
    supported_ = "byte-level BPE has no normalizer";
    if (root.contains("normalizer") && !root["normalizer"].is_null()) {
      refuse("normalizer", fmt::format("'{}'", type_of(root["normalizer"])));
    }
  }

  void pre_tokenizer(const json& root) {
    supported_ =
        "expected ByteLevel with the GPT-2 regex, or Llama-3's Sequence[Split(its regex, "
        "Isolated), ByteLevel(use_regex false)]";
    const json& pre = root.contains("pre_tokenizer") ? root["pre_tokenizer"] : json();
    if (pre.is_null()) refuse("pre_tokenizer", "'null'");
    const std::string type = type_of(pre);
    if (type == "ByteLevel") {
      if (!flag(pre, "use_regex", true)) refuse("pre_tokenizer.use_regex", "false (no split)");
      model_.pre_tokenizer = BpePreTokenizer::kGpt2;
      model_.add_prefix_space = flag(pre, "add_prefix_space", false);
      return;
    }
    if (type != "Sequence") refuse("pre_tokenizer", fmt::format("'{}'", type));
    const json& steps = pre.contains("pretokenizers") ? pre["pretokenizers"] : json();
    if (!steps.is_array() || steps.size() != 2) {
      refuse("pre_tokenizer.pretokenizers", fmt::format("{}", steps.dump()));
    }
    split(steps[0], "pre_tokenizer.pretokenizers[0]");
    const std::string at = "pre_tokenizer.pretokenizers[1]";
    const json& byte_level = steps[1];
    if (type_of(byte_level) != "ByteLevel") refuse(at, fmt::format("'{}'", type_of(byte_level)));
    if (flag(byte_level, "use_regex", true)) refuse(at + ".use_regex", "true after Split");
    if (flag(byte_level, "add_prefix_space", false)) {
      refuse(at + ".add_prefix_space", "true after Split");
    }
    model_.pre_tokenizer = BpePreTokenizer::kLlama3;
    model_.add_prefix_space = false;
  }

  void post_processor(const json& root) {
    supported_ =
        "expected null, ByteLevel, TemplateProcessing with special tokens around $A, or a "
        "Sequence of those";
    if (!root.contains("post_processor")) return;
    processor(root["post_processor"], "post_processor");
  }

 private:
  void split(const json& node, const std::string& at) {
    if (type_of(node) != "Split") refuse(at, fmt::format("'{}'", type_of(node)));
    const json& pattern = node.contains("pattern") ? node["pattern"] : json();
    if (!pattern.is_object() || !pattern.contains("Regex") || !pattern["Regex"].is_string()) {
      refuse(at + ".pattern", fmt::format("{} (a plain string split)", pattern.dump()));
    }
    if (pattern["Regex"].get<std::string>() != kLlama3SplitPattern) {
      refuse(at + ".pattern.Regex", fmt::format("'{}' (only the Llama-3 / cl100k pattern is)",
                                                pattern["Regex"].get<std::string>()));
    }
    if (node.value("behavior", std::string("?")) != "Isolated") {
      const std::string behavior = node.contains("behavior") ? node["behavior"].dump() : "missing";
      refuse(at + ".behavior", fmt::format("{} (expected \"Isolated\")", behavior));
    }
    if (flag(node, "invert", false)) refuse(at + ".invert", "true");
  }

  void processor(const json& node, const std::string& at) {
    if (node.is_null()) return;
    const std::string type = type_of(node);
    if (type == "ByteLevel") return;  // it only adjusts offsets
    if (type == "Sequence") {
      const json& steps = node.contains("processors") ? node["processors"] : json();
      if (!steps.is_array()) refuse(at + ".processors", steps.dump());
      for (size_t i = 0; i < steps.size(); ++i) {
        processor(steps[i], fmt::format("{}.processors[{}]", at, i));
      }
      return;
    }
    if (type != "TemplateProcessing") refuse(at, fmt::format("'{}'", type));
    template_processing(node, at);
  }

  // The `single` template: special tokens, one $A, special tokens.
  void template_processing(const json& node, const std::string& at) {
    if (seen_template_) refuse(at, "(a second TemplateProcessing)");
    seen_template_ = true;
    const json& single = node.contains("single") ? node["single"] : json();
    if (!single.is_array()) refuse(at + ".single", single.dump());
    bool seen_sequence = false;
    for (size_t i = 0; i < single.size(); ++i) {
      const std::string item_at = fmt::format("{}.single[{}]", at, i);
      const json& item = single[i];
      if (item.contains("Sequence") && item["Sequence"].value("id", "") == "A" && !seen_sequence) {
        seen_sequence = true;
        continue;
      }
      if (!item.contains("SpecialToken")) refuse(item_at, item.dump());
      const std::string name = item["SpecialToken"].value("id", "");
      const std::string ids_at = fmt::format("{}.special_tokens[\"{}\"].ids", at, name);
      const json& entry = node.contains("special_tokens") && node["special_tokens"].contains(name)
                              ? node["special_tokens"][name]
                              : json();
      if (!entry.is_object() || !entry.contains("ids") || !entry["ids"].is_array()) {
        refuse(ids_at, "(missing)");
      }
      for (const json& id : entry["ids"]) {
        if (!id.is_number_integer()) refuse(ids_at, id.dump());
        (seen_sequence ? model_.suffix_ids : model_.prefix_ids).push_back(id.get<int32_t>());
      }
    }
    if (!seen_sequence) refuse(at + ".single", "without $A");
  }

  const std::string& path_;
  BpeModel& model_;
  std::string supported_;
  bool seen_template_ = false;
};

}  // namespace

void read_hugging_face_pipeline(const json& root, const std::string& path, BpeModel& model) {
  Reader reader(path, model);
  reader.normalizer(root);
  reader.pre_tokenizer(root);
  reader.post_processor(root);
}

}  // namespace me
