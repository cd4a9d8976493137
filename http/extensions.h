// Extensions: a map from type to one value of that type, carried by requests and responses
// (like http::Extensions in Rust): the peer address, a request id, an authenticated user...
//
//   struct RequestId { std::string id; };
//   http::Extensions ext;
//   ext.insert(RequestId{"abc"});                       // replaces any earlier RequestId
//   if (RequestId* r = ext.get<RequestId>()) { ... r->id ... }
//   std::optional<RequestId> taken = ext.remove<RequestId>();
//
// Keyed by the exact type (no conversions: get<Base>() does not find a Derived). Type ids are
// the addresses of a per-type variable, so no RTTI is needed. An empty Extensions holds an empty
// std::vector and allocates nothing; each stored value is one heap allocation. Lookups are a
// linear scan (a request carries a handful of extensions at most).
//
// Move-only: values need not be copyable (e.g. a oneshot sender for an upgraded connection).
// Pointers returned by insert/get stay valid until that type is removed or replaced, or the
// Extensions is cleared or destroyed (moving the Extensions does not invalidate them).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace weft::http {

class Extensions {
 public:
  Extensions() = default;
  Extensions(Extensions&&) noexcept = default;
  Extensions& operator=(Extensions&&) noexcept = default;
  Extensions(const Extensions&) = delete;
  Extensions& operator=(const Extensions&) = delete;

  // Stores `value`, replacing the value of the same type if there is one; returns the stored one.
  template <class T>
  T* insert(T value) {
    static_assert(std::is_same_v<T, std::decay_t<T>>, "insert(T) takes a plain value type");
    if (Slot* slot = find(type_id<T>())) {
      if constexpr (std::is_move_assignable_v<T>) {
        *static_cast<T*>(slot->value.get()) = std::move(value);
      } else {
        slot->value = make_value<T>(std::move(value));
      }
      return static_cast<T*>(slot->value.get());
    }
    slots_.push_back(Slot{type_id<T>(), make_value<T>(std::move(value))});
    return static_cast<T*>(slots_.back().value.get());
  }

  template <class T>
  T* get() {
    static_assert(std::is_same_v<T, std::decay_t<T>>, "get<T>() takes a plain value type");
    Slot* slot = find(type_id<T>());
    return slot != nullptr ? static_cast<T*>(slot->value.get()) : nullptr;
  }

  template <class T>
  const T* get() const {
    return const_cast<Extensions*>(this)->get<T>();
  }

  // Takes the value of type T out, if there is one.
  template <class T>
  std::optional<T> remove() {
    static_assert(std::is_same_v<T, std::decay_t<T>>, "remove<T>() takes a plain value type");
    Slot* slot = find(type_id<T>());
    if (slot == nullptr) return std::nullopt;
    std::optional<T> out(std::move(*static_cast<T*>(slot->value.get())));
    if (slot != &slots_.back()) *slot = std::move(slots_.back());  // order does not matter
    slots_.pop_back();
    return out;
  }

  bool empty() const { return slots_.empty(); }
  size_t size() const { return slots_.size(); }
  void clear() { slots_.clear(); }

 private:
  using TypeId = const void*;
  using Deleter = void (*)(void*);

  struct Slot {
    TypeId type;
    std::unique_ptr<void, Deleter> value;
  };

  // One variable per type; its address is the type's id.
  template <class T>
  static inline const char kTypeTag = 0;

  template <class T>
  static TypeId type_id() {
    return &kTypeTag<T>;
  }

  template <class T>
  static std::unique_ptr<void, Deleter> make_value(T&& value) {
    return std::unique_ptr<void, Deleter>(new T(std::move(value)),
                                          [](void* p) { delete static_cast<T*>(p); });
  }

  Slot* find(TypeId type) {
    for (Slot& slot : slots_) {
      if (slot.type == type) return &slot;
    }
    return nullptr;
  }

  std::vector<Slot> slots_;
};

}  // namespace weft::http
