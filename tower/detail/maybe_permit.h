// detail::MaybePermit<P>: std::optional<P>, except for an empty permit type (NoPermit and the
// like), where it is a single word.
//
// Layers whose permit may lack the inner one (LoadShed, ConcurrencyLimit) hold it in this.
// Why: a permit is moved through every layer of a stack, once per call, and the CPU forwards a
// pending store to a later load only when that load reads no more than the store wrote. g++
// copies an std::optional<NoPermit> (a byte of nothing plus a byte of "engaged", written one
// byte at a time) with one 2-byte load; clang copies a permit ending in a bool with a 4- or
// 16-byte load over the bool and the padding. Either way a store-forwarding stall of about a
// dozen cycles per move. A word is written and read whole (6-layer stack_bench, clang: about
// 2 ns per call less than with a bool).
// Only the optional operations the layers use are provided: construction from nullopt or from a
// permit, has_value(), and `*std::move(m)`.
#pragma once

#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

namespace weft::tower::detail {

// An empty, trivially destructible, default-constructible P carries no state: a fresh P{} is
// the same permit.
template <class P>
class EmptyMaybePermit {
 public:
  EmptyMaybePermit(std::nullopt_t) : engaged_(0) {}  // NOLINT: as std::optional
  explicit EmptyMaybePermit(P) : engaged_(1) {}
  EmptyMaybePermit(EmptyMaybePermit&&) = default;  // move-only, as every permit
  EmptyMaybePermit& operator=(EmptyMaybePermit&&) = default;
  bool has_value() const { return engaged_ != 0; }
  P operator*() && { return P{}; }

 private:
  std::uintptr_t engaged_;  // a whole word: see the top
};

template <class P>
using MaybePermit = std::conditional_t<std::is_empty_v<P> && std::is_trivially_destructible_v<P> &&
                                           std::is_default_constructible_v<P>,
                                       EmptyMaybePermit<P>, std::optional<P>>;

}  // namespace weft::tower::detail
