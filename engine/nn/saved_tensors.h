// Visits the tensors inside a module's Saved struct (a plain aggregate of Tensors) without each
// module listing them, so MicroBatchContext can count the bytes it holds.
#pragma once

#include <cstddef>
#include <type_traits>
#include <vector>

#include "engine/core/tensor.h"

namespace me {
namespace detail {

// Converts to any member type; used only in unevaluated brace-initialisation to count members.
struct AnyMember {
  template <typename T>
  operator T() const;  // NOLINT(google-explicit-constructor): the point is implicit conversion
};

template <typename T, typename... Members>
constexpr size_t member_count() {
  if constexpr (requires { T{Members{}..., AnyMember{}}; }) {
    return member_count<T, Members..., AnyMember>();
  } else {
    return sizeof...(Members);
  }
}

template <typename Saved, typename F>
void visit_saved(const Saved& saved, F& f);

template <typename... Members, typename F>
void visit_members(F& f, const Members&... members) {
  (visit_saved(members, f), ...);
}

// Tensors are visited; vectors and nested aggregates are searched; anything else holds no memory
// worth counting (flags, sizes).
template <typename Saved, typename F>
void visit_saved(const Saved& saved, F& f) {
  if constexpr (std::is_same_v<Saved, Tensor>) {
    f(saved);
  } else if constexpr (std::is_same_v<Saved, std::vector<Tensor>>) {
    for (const Tensor& t : saved) f(t);
  } else if constexpr (std::is_aggregate_v<Saved> && !std::is_array_v<Saved>) {
    constexpr size_t n = member_count<Saved>();
    static_assert(n <= 8, "Saved structs of more than 8 members: extend visit_saved");
    if constexpr (n == 1) {
      const auto& [a] = saved;
      visit_members(f, a);
    } else if constexpr (n == 2) {
      const auto& [a, b] = saved;
      visit_members(f, a, b);
    } else if constexpr (n == 3) {
      const auto& [a, b, c] = saved;
      visit_members(f, a, b, c);
    } else if constexpr (n == 4) {
      const auto& [a, b, c, d] = saved;
      visit_members(f, a, b, c, d);
    } else if constexpr (n == 5) {
      const auto& [a, b, c, d, e] = saved;
      visit_members(f, a, b, c, d, e);
    } else if constexpr (n == 6) {
      const auto& [a, b, c, d, e, g] = saved;
      visit_members(f, a, b, c, d, e, g);
    } else if constexpr (n == 7) {
      const auto& [a, b, c, d, e, g, h] = saved;
      visit_members(f, a, b, c, d, e, g, h);
    } else if constexpr (n == 8) {
      const auto& [a, b, c, d, e, g, h, i] = saved;
      visit_members(f, a, b, c, d, e, g, h, i);
    }
  }
}

}  // namespace detail

// Calls f(const Tensor&) for every defined or undefined Tensor member of `saved`.
template <typename Saved, typename F>
void for_each_saved_tensor(const Saved& saved, F f) {
  detail::visit_saved(saved, f);
}

}  // namespace me
