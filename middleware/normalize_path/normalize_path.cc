#include "weft/middleware/normalize_path/normalize_path.h"

#include "weft/http/header_name.h"
#include "weft/http/header_value.h"
#include "weft/http/status_code.h"

namespace weft::middleware {

std::optional<std::string> normalize_path(std::string_view path) {
  // Already normal: starts with '/', no "//", no trailing '/' unless it is "/" itself.
  bool normal = !path.empty() && path[0] == '/' && path.find("//") == std::string_view::npos &&
                (path.size() == 1 || path.back() != '/');
  if (normal) return std::nullopt;
  std::string out;
  out.reserve(path.size() + 1);
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    if (out.empty() && c != '/') out.push_back('/');
    out.push_back(c);
  }
  if (out.empty()) out.assign(1, '/');
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::optional<http::Uri> normalized_uri(const http::Uri& uri) {
  if (uri.form() != http::Uri::Form::kOrigin && uri.form() != http::Uri::Form::kAbsolute) {
    return std::nullopt;
  }
  std::optional<std::string> path = normalize_path(uri.path());
  if (!path.has_value()) return std::nullopt;
  // What follows the path ("?query"), verbatim.
  std::string_view rest = uri.path_and_query_view().substr(uri.path().size());
  std::string target;
  if (uri.is_absolute()) {
    target.append(uri.scheme().data(), uri.scheme().size());
    target.append("://", 3);
    target.append(uri.authority().data(), uri.authority().size());
  }
  target.append(*path);
  target.append(rest.data(), rest.size());
  absl::StatusOr<http::Uri> parsed = http::Uri::parse(target);
  if (!parsed.ok()) return std::nullopt;  // cannot happen (only '/'s were removed): leave it be
  return *std::move(parsed);
}

HttpResponse permanent_redirect_to(const http::Uri& uri) {
  HttpResponse resp = detail::text_response(http::StatusCode::PERMANENT_REDIRECT);
  // path_and_query of a parsed Uri holds only visible ASCII: a valid header value.
  absl::StatusOr<http::HeaderValue> location = http::HeaderValue::parse(uri.path_and_query_view());
  if (location.ok()) resp.headers().insert(http::header::LOCATION, *std::move(location));
  return resp;
}

}  // namespace weft::middleware
