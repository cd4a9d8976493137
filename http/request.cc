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

template <>
RequestParts* acquire_parts<RequestParts>() {
  return PartsPool<RequestParts>::acquire();
}

template <>
void RecycleParts<RequestParts>::operator()(RequestParts* p) const noexcept {
  PartsPool<RequestParts>::recycle(p, &clear_parts);
}

}  // namespace weft::http::detail
