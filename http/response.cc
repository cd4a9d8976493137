#include "weft/http/response.h"

#include "weft/http/detail/parts_pool.h"

namespace weft::http::detail {
namespace {

void clear_parts(ResponseParts& p) {
  p.status = StatusCode();
  p.version = Version::kHttp11;
  p.headers.clear();  // keeps the capacity: the point of the pool
  p.extensions.clear();
}

}  // namespace

template <>
ResponseParts* acquire_parts<ResponseParts>() {
  return PartsPool<ResponseParts>::acquire();
}

template <>
void RecycleParts<ResponseParts>::operator()(ResponseParts* p) const noexcept {
  PartsPool<ResponseParts>::recycle(p, &clear_parts);
}

}  // namespace weft::http::detail
