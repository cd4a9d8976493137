// PartsPool<Parts>: a per-thread pool of boxed message heads (RequestParts, ResponseParts).
// Private to http/: request.cc and response.cc instantiate it.
//
//   Parts* p = detail::PartsPool<Parts>::acquire();        // cleared; new when the pool is empty
//   detail::PartsPool<Parts>::recycle(p, &clear_parts);     // clear_parts(*p), then pooled
//
// A recycled head keeps its header vector's capacity: a server answering from the same thread
// then builds heads without allocating in steady state. Heads whose header vector grew large are
// freed instead (one odd message with hundreds of headers must not pin that memory), as are
// heads beyond kMaxPooled and heads released while the thread exits (after the pool is gone).
#pragma once

#include <cstddef>
#include <vector>

namespace weft::http::detail {

template <class Parts>
class PartsPool {
 public:
  // Enough for the messages one thread has in flight at once in a busy server.
  static constexpr std::size_t kMaxPooled = 64;
  static constexpr std::size_t kMaxKeptHeaders = 32;

  static Parts* acquire() {
    if (gone_ || free_.heads.empty()) return new Parts();
    Parts* p = free_.heads.back();
    free_.heads.pop_back();
    return p;
  }

  // `clear` resets everything but the header vector's capacity.
  static void recycle(Parts* p, void (*clear)(Parts&)) noexcept {
    if (gone_ || free_.heads.size() >= kMaxPooled || p->headers.capacity() > kMaxKeptHeaders) {
      delete p;
      return;
    }
    clear(*p);
    free_.heads.push_back(p);
  }

 private:
  struct Free {
    std::vector<Parts*> heads;
    Free() { heads.reserve(kMaxPooled); }
    ~Free() {
      gone_ = true;  // a head released later in this thread's exit is simply deleted
      for (Parts* p : heads) delete p;
    }
  };
  static inline thread_local Free free_;
  static inline thread_local bool gone_ = false;
};

}  // namespace weft::http::detail
