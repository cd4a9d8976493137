// PartsBox<Parts>: the box a Request or Response keeps its head in (RequestParts,
// ResponseParts), taken from and given back to a per-thread pool (detail/parts_pool.cc).
//
//   detail::PartsBox<RequestParts> head(detail::acquire_parts<RequestParts>());   // cleared
//   // ...destroying the box clears the head and pools it, header capacity kept
//
// Defined, and instantiated for RequestParts and ResponseParts, in detail/parts_pool.cc.
#pragma once

#include <memory>

namespace weft::http::detail {

// A cleared head from this thread's pool (a new one when the pool is empty).
template <class Parts>
Parts* acquire_parts();

// Clears `p` and keeps it in this thread's pool (or deletes it: see detail/parts_pool.cc).
template <class Parts>
struct RecycleParts {
  void operator()(Parts* p) const noexcept;
};

template <class Parts>
using PartsBox = std::unique_ptr<Parts, RecycleParts<Parts>>;

}  // namespace weft::http::detail
