// The per-thread pools behind detail::PartsBox (detail/parts_box.h): one for RequestParts, one
// for ResponseParts, instantiated at the end of this file.
//
// A recycled head keeps its header vector's capacity: a server answering from the same thread
// then builds heads without allocating in steady state. Heads whose header vector grew large
// are freed instead (one odd message with hundreds of headers must not pin that memory), as are
// heads beyond kMaxPooled and heads released while the thread exits (after the pool is gone).
#include <cstddef>
#include <utility>
#include <vector>

#include "weft/http/detail/parts_box.h"
#include "weft/http/request.h"
#include "weft/http/response.h"

namespace weft::http::detail {
namespace {

// Enough for the messages one thread has in flight at once in a busy server.
constexpr std::size_t kMaxPooled = 64;
constexpr std::size_t kMaxKeptHeaders = 32;

template <class Parts>
struct Pool {
  std::vector<Parts*> heads;
  // Set once this thread's pool is destroyed: a head released later in the thread's exit (by
  // another thread_local or a static destructor) is simply deleted.
  static inline thread_local bool gone = false;

  Pool() { heads.reserve(kMaxPooled); }
  ~Pool() {
    gone = true;
    for (Parts* p : heads) delete p;
  }
};

// A function-local thread_local: constructed on first use and destroyed at the thread's exit.
// (A thread_local variable template in its place leaked its vector under g++ 12 and ASan: it
// was not destroyed at thread exit.)
template <class Parts>
std::vector<Parts*>& this_thread_heads() {
  thread_local Pool<Parts> pool;
  return pool.heads;
}

// Back to a default head, keeping only the header vector's capacity (the point of the pool).
// Field by field: assigning a fresh head instead made a GET / in http_echo cost 5,654
// instructions instead of 5,508 (tools/bench/http_instructions.sh).
void clear(RequestParts& p) {
  p.method = Method();
  p.uri = Uri();
  p.version = Version::kHttp11;
  p.headers.clear();
  p.extensions.clear();
}

void clear(ResponseParts& p) {
  p.status = StatusCode();
  p.version = Version::kHttp11;
  p.headers.clear();
  p.extensions.clear();
}

}  // namespace

template <class Parts>
Parts* acquire_parts() {
  if (Pool<Parts>::gone) return new Parts();
  std::vector<Parts*>& heads = this_thread_heads<Parts>();
  if (heads.empty()) return new Parts();
  Parts* p = heads.back();
  heads.pop_back();
  return p;
}

template <class Parts>
void RecycleParts<Parts>::operator()(Parts* p) const noexcept {
  if (Pool<Parts>::gone) {
    delete p;
    return;
  }
  std::vector<Parts*>& heads = this_thread_heads<Parts>();
  if (heads.size() >= kMaxPooled || p->headers.capacity() > kMaxKeptHeaders) {
    delete p;
    return;
  }
  clear(*p);
  heads.push_back(p);
}

template RequestParts* acquire_parts<RequestParts>();
template struct RecycleParts<RequestParts>;
template ResponseParts* acquire_parts<ResponseParts>();
template struct RecycleParts<ResponseParts>;

}  // namespace weft::http::detail
