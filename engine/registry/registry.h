// Name -> factory registries (Caffe's layer factory): one per kind (model, layer, optimizer,
// lr_schedule, dataset, tokenizer), filled by one ME_REGISTER line next to each class.
#pragma once

#include <fmt/format.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/suggest.h"

namespace me {

// Every registry announces itself here, so `--list` can print all kinds without knowing them.
class RegistryIndex {
 public:
  using Lister = std::function<std::vector<std::string>()>;
  static RegistryIndex& instance() {
    static RegistryIndex index;
    return index;
  }
  void add(const std::string& kind, Lister lister) { listers_[kind] = std::move(lister); }
  std::map<std::string, std::vector<std::string>> all() const {
    std::map<std::string, std::vector<std::string>> out;
    for (const auto& [kind, lister] : listers_) out[kind] = lister();
    return out;
  }

 private:
  std::map<std::string, Lister> listers_;
};

// A registry of classes derived from Base, built from constructor arguments Args.
// Kind is a type with `static constexpr const char* kName` ("layer", "model", ...).
template <typename Kind, typename Base, typename... Args>
class Registry {
 public:
  using Factory = std::function<std::unique_ptr<Base>(Args...)>;

  static Registry& instance() {
    static Registry registry;
    return registry;
  }

  void add(const std::string& name, Factory factory, const char* file) {
    if (auto it = entries_.find(name); it != entries_.end()) {
      throw InternalError(fmt::format("{} '{}' registered twice: in {} and in {}", Kind::kName,
                                      name, it->second.file, file));
    }
    entries_.emplace(name, Entry{std::move(factory), file});
  }

  bool contains(const std::string& name) const { return entries_.count(name) > 0; }

  std::unique_ptr<Base> create(const std::string& name, Args... args) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) throw Error(unknown_message(name));
    return it->second.factory(std::forward<Args>(args)...);
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, entry] : entries_) out.push_back(name);
    return out;
  }

  // "unknown optimizer 'adamw'; did you mean 'adam'? (known: adam, sgd)"
  std::string unknown_message(const std::string& name) const {
    std::string message = fmt::format("unknown {} '{}'", Kind::kName, name);
    if (auto near = closest_match(name, names()))
      message += fmt::format("; did you mean '{}'?", *near);
    return message + fmt::format(" (known: {})", fmt::join(names(), ", "));
  }

 private:
  struct Entry {
    Factory factory;
    const char* file;
  };
  Registry() {
    RegistryIndex::instance().add(Kind::kName, [this] { return names(); });
  }
  std::map<std::string, Entry> entries_;
};

// The static object one ME_REGISTER line creates: adds Class under its name at start-up.
template <typename RegistryT, typename Class>
struct RegistrationFor;

template <typename Kind, typename Base, typename... Args, typename Class>
struct RegistrationFor<Registry<Kind, Base, Args...>, Class> {
  RegistrationFor(const char* name, const char* file) {
    Registry<Kind, Base, Args...>::instance().add(
        name, [](Args... args) { return std::make_unique<Class>(std::forward<Args>(args)...); },
        file);
  }
};

// The static object an ME_REGISTER_FACTORY line creates: adds a factory function under its name
// (for classes whose constructor takes a part of the registry's arguments).
template <typename RegistryT>
struct FactoryRegistration {
  FactoryRegistration(const char* name, const char* file, typename RegistryT::Factory factory) {
    RegistryT::instance().add(name, std::move(factory), file);
  }
};

}  // namespace me

#define ME_CONCAT_INNER(a, b) a##b
#define ME_CONCAT(a, b) ME_CONCAT_INNER(a, b)

// ME_REGISTER(LayerRegistry, "layer_norm", LayerNorm); registers Class under a name, next to it.
#define ME_REGISTER(RegistryT, name, Class)                                                      \
  static const ::me::RegistrationFor<RegistryT, Class> ME_CONCAT(me_registration_, __COUNTER__)( \
      name, __FILE__)

// ME_REGISTER_FACTORY(LayerRegistry, "mlp", [](...) { ... }); registers a factory function.
#define ME_REGISTER_FACTORY(RegistryT, name, factory)                                         \
  static const ::me::FactoryRegistration<RegistryT> ME_CONCAT(me_registration_, __COUNTER__)( \
      name, __FILE__, factory)

// Declares `Name` as a registry of Base built from (Args...), listed by --list as `kind`.
#define ME_DECLARE_REGISTRY(Name, kind, Base, ...) \
  struct Name##Kind {                              \
    static constexpr const char* kName = kind;     \
  };                                               \
  using Name = ::me::Registry<Name##Kind, Base, ##__VA_ARGS__>
