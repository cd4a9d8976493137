// detail::MaybePermit<P>: std::optional<P>, except for an empty permit type (NoPermit and the
// like), where it is a single bool.
//
// Layers whose permit may lack the inner one (LoadShed, ConcurrencyLimit) hold it in this.
// Why: a permit is moved through every layer of a stack, once per call. g++ copies an
// std::optional<NoPermit> (a byte of nothing plus a byte of "engaged", written one byte at a
// time) with one 2-byte load, which the CPU cannot forward from the two pending 1-byte stores:
// a store-forwarding stall of about a dozen cycles per move. A bool is written and read whole.
// Only the optional operations the layers use are provided: construction from nullopt or from a
// permit, has_value(), and `*std::move(m)`.
#pragma once

#include <optional>
#include <type_traits>
#include <utility>

namespace weft::tower::detail {

// An empty, trivially destructible, default-constructible P carries no state: a fresh P{} is
// the same permit.
template <class P>
class EmptyMaybePermit {
 public:
  EmptyMaybePermit(std::nullopt_t) : engaged_(false) {}  // NOLINT: as std::optional
  explicit EmptyMaybePermit(P) : engaged_(true) {}
  EmptyMaybePermit(EmptyMaybePermit&&) = default;  // move-only, as every permit
  EmptyMaybePermit& operator=(EmptyMaybePermit&&) = default;
  bool has_value() const { return engaged_; }
  P operator*() && { return P{}; }

 private:
  bool engaged_;
};

template <class P>
using MaybePermit = std::conditional_t<std::is_empty_v<P> && std::is_trivially_destructible_v<P> &&
                                           std::is_default_constructible_v<P>,
                                       EmptyMaybePermit<P>, std::optional<P>>;

}  // namespace weft::tower::detail
