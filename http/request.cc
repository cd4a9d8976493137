#include "weft/http/request.h"

#include "weft/http/detail/parts_pool.h"

namespace weft::http::detail {
namespace {

void clear_parts(RequestParts& p) {
  p.method = Method();
  p.uri = Uri();
  p.version = Version::kHttp11;
  p.headers.clear();  // keeps the capacity: the point of the pool
  p.extensions.clear();
}

}  // namespace

RequestParts* acquire_request_parts() { return PartsPool<RequestParts>::acquire(); }

void RecycleRequestParts::operator()(RequestParts* p) const noexcept {
  PartsPool<RequestParts>::recycle(p, &clear_parts);
}

}  // namespace weft::http::detail
