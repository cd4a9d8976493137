#include "weft/http/request.h"

#include <vector>

namespace weft::http::detail {
namespace {

// Enough for the requests one thread has in flight at once in a busy server; more are freed.
constexpr std::size_t kMaxPooled = 64;
// A head whose header vector grew past this is freed rather than kept (one odd request with
// hundreds of headers must not pin that memory in the pool).
constexpr std::size_t kMaxKeptHeaders = 32;

struct PartsPool {
  std::vector<RequestParts*> free;
  PartsPool() { free.reserve(kMaxPooled); }
  ~PartsPool();
};
thread_local PartsPool tls_pool;
// Set once this thread's pool is destroyed: a request destroyed later in the thread's exit (by
// another thread_local or a static destructor) is simply deleted.
thread_local bool tls_pool_gone = false;

PartsPool::~PartsPool() {
  tls_pool_gone = true;
  for (RequestParts* p : free) delete p;
}

}  // namespace

RequestParts* acquire_request_parts() {
  if (tls_pool_gone) return new RequestParts();
  PartsPool& pool = tls_pool;
  if (pool.free.empty()) return new RequestParts();
  RequestParts* p = pool.free.back();
  pool.free.pop_back();
  return p;
}

void RecycleRequestParts::operator()(RequestParts* p) const noexcept {
  if (tls_pool_gone) {
    delete p;
    return;
  }
  PartsPool& pool = tls_pool;
  if (pool.free.size() >= kMaxPooled || p->headers.capacity() > kMaxKeptHeaders) {
    delete p;
    return;
  }
  p->method = Method();
  p->uri = Uri();
  p->version = Version::kHttp11;
  p->headers.clear();  // keeps the capacity: the point of the pool
  p->extensions.clear();
  pool.free.push_back(p);
}

}  // namespace weft::http::detail
