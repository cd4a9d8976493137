#include "weft/middleware/cors/cors.h"

#include <stdexcept>

#include "weft/http/status_code.h"

namespace weft::middleware {

namespace {

const http::HeaderName& allow_private_network_name() {
  static const http::HeaderName n =
      http::HeaderName::from_static("access-control-allow-private-network");
  return n;
}
const http::HeaderName& request_private_network_name() {
  static const http::HeaderName n =
      http::HeaderName::from_static("access-control-request-private-network");
  return n;
}

const http::HeaderValue& true_value() {
  static const http::HeaderValue v = http::HeaderValue::from_static("true");
  return v;
}
const http::HeaderValue& star_value() {
  static const http::HeaderValue v = http::HeaderValue::from_static("*");
  return v;
}

// "a,b,c" from the names' text.
template <class Range, class F>
std::optional<http::HeaderValue> join(const Range& items, F text) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ",";
    out += text(item);
  }
  if (out.empty()) return std::nullopt;
  return http::HeaderValue::parse(out).value();  // tokens joined by ',': always valid
}

// scheme "://" host [":" port], nothing after; or "null" (an opaque origin).
bool is_serialized_origin(std::string_view o) {
  if (o == "null") return true;
  size_t sep = o.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  std::string_view rest = o.substr(sep + 3);
  if (rest.empty()) return false;
  for (char c : rest) {
    if (c == '/' || c == '?' || c == '#' || c == ' ' || c == '@') return false;
  }
  return http::HeaderValue::parse(o).ok();
}

}  // namespace

// ---- the configuration types ----

AllowOrigin AllowOrigin::any() {
  AllowOrigin o;
  o.kind_ = Kind::kAny;
  return o;
}
AllowOrigin AllowOrigin::exact(std::string origin) {
  return list(std::vector<std::string>{std::move(origin)});
}
AllowOrigin AllowOrigin::list(std::vector<std::string> origins) {
  AllowOrigin o;
  o.kind_ = Kind::kList;
  o.origins_ = std::move(origins);
  return o;
}
AllowOrigin AllowOrigin::mirror_request() {
  AllowOrigin o;
  o.kind_ = Kind::kMirror;
  return o;
}

AllowMethods AllowMethods::any() {
  AllowMethods m;
  m.kind_ = Kind::kAny;
  return m;
}
AllowMethods AllowMethods::mirror_request() {
  AllowMethods m;
  m.kind_ = Kind::kMirror;
  return m;
}
AllowHeaders AllowHeaders::any() {
  AllowHeaders h;
  h.kind_ = Kind::kAny;
  return h;
}
AllowHeaders AllowHeaders::mirror_request() {
  AllowHeaders h;
  h.kind_ = Kind::kMirror;
  return h;
}
ExposeHeaders ExposeHeaders::any() {
  ExposeHeaders h;
  h.kind_ = Kind::kAny;
  return h;
}

// ---- per request ----

bool is_cors_preflight(const HttpRequest& req) {
  return req.method() == http::Method::OPTIONS && req.headers().contains(http::header::ORIGIN) &&
         req.headers().contains(http::header::ACCESS_CONTROL_REQUEST_METHOD);
}

std::optional<http::HeaderValue> CorsConfig::allow_origin(const http::HeaderValue& o,
                                                          const HttpRequest& req) const {
  switch (origin.kind_) {
    case AllowOrigin::Kind::kNone:
      return std::nullopt;
    case AllowOrigin::Kind::kAny:
      return star_value();
    case AllowOrigin::Kind::kMirror:
      return o;
    case AllowOrigin::Kind::kList:
      for (const std::string& allowed : origin.origins_) {
        if (o.as_str() == allowed) return o;
      }
      return std::nullopt;
    case AllowOrigin::Kind::kPredicate:
      if (origin.predicate_(o.as_str(), req)) return o;
      return std::nullopt;
  }
  return std::nullopt;
}

HttpResponse CorsConfig::preflight(const HttpRequest& req) const {
  HttpResponse resp(http::StatusCode::NO_CONTENT, http::Body());
  http::HeaderMap& h = resp.headers();
  if (vary.has_value()) h.append(http::header::VARY, *vary);
  const http::HeaderValue* o = req.headers().get(http::header::ORIGIN);
  std::optional<http::HeaderValue> allowed =
      o != nullptr ? allow_origin(*o, req) : std::optional<http::HeaderValue>();
  if (!allowed.has_value()) return resp;
  h.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, *std::move(allowed));
  if (credentials) h.insert(http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS, true_value());
  if (methods_kind == AllowMethods::Kind::kMirror) {
    if (const http::HeaderValue* m =
            req.headers().get(http::header::ACCESS_CONTROL_REQUEST_METHOD)) {
      h.insert(http::header::ACCESS_CONTROL_ALLOW_METHODS, *m);
    }
  } else if (methods.has_value()) {
    h.insert(http::header::ACCESS_CONTROL_ALLOW_METHODS, *methods);
  }
  if (headers_kind == AllowHeaders::Kind::kMirror) {
    if (const http::HeaderValue* r =
            req.headers().get(http::header::ACCESS_CONTROL_REQUEST_HEADERS)) {
      h.insert(http::header::ACCESS_CONTROL_ALLOW_HEADERS, *r);
    }
  } else if (headers.has_value()) {
    h.insert(http::header::ACCESS_CONTROL_ALLOW_HEADERS, *headers);
  }
  if (max_age.has_value()) h.insert(http::header::ACCESS_CONTROL_MAX_AGE, *max_age);
  if (private_network) {
    const http::HeaderValue* pn = req.headers().get(request_private_network_name());
    if (pn != nullptr && pn->as_str() == "true")
      h.insert(allow_private_network_name(), true_value());
  }
  return resp;
}

void CorsConfig::decorate(http::HeaderMap& h, std::optional<http::HeaderValue> allowed) const {
  // vary may carry several values: add ours after the inner service's, never replace them.
  if (vary.has_value()) h.append(http::header::VARY, *vary);
  if (!allowed.has_value()) return;
  h.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, *std::move(allowed));
  if (credentials) h.insert(http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS, true_value());
  if (expose.has_value()) h.insert(http::header::ACCESS_CONTROL_EXPOSE_HEADERS, *expose);
}

// ---- the layer ----

CorsLayer CorsLayer::permissive() {
  return CorsLayer()
      .allow_origin(AllowOrigin::any())
      .allow_methods(AllowMethods::any())
      .allow_headers(AllowHeaders::any())
      .expose_headers(ExposeHeaders::any());
}

CorsLayer CorsLayer::very_permissive() {
  return CorsLayer()
      .allow_origin(AllowOrigin::mirror_request())
      .allow_methods(AllowMethods::mirror_request())
      .allow_headers(AllowHeaders::mirror_request())
      .allow_credentials(true);
}

CorsLayer CorsLayer::allow_origin(AllowOrigin o) const {
  CorsLayer l = *this;
  l.origin_ = std::move(o);
  return l;
}
CorsLayer CorsLayer::allow_methods(AllowMethods m) const {
  CorsLayer l = *this;
  l.methods_ = std::move(m);
  return l;
}
CorsLayer CorsLayer::allow_headers(AllowHeaders h) const {
  CorsLayer l = *this;
  l.headers_ = std::move(h);
  return l;
}
CorsLayer CorsLayer::expose_headers(ExposeHeaders h) const {
  CorsLayer l = *this;
  l.expose_ = std::move(h);
  return l;
}
CorsLayer CorsLayer::allow_credentials(bool allow) const {
  CorsLayer l = *this;
  l.credentials_ = allow;
  return l;
}
CorsLayer CorsLayer::max_age(std::chrono::seconds age) const {
  CorsLayer l = *this;
  l.max_age_ = age;
  return l;
}
CorsLayer CorsLayer::allow_private_network(bool allow) const {
  CorsLayer l = *this;
  l.private_network_ = allow;
  return l;
}
CorsLayer CorsLayer::vary(std::vector<http::HeaderName> names) const {
  CorsLayer l = *this;
  l.vary_ = std::move(names);
  return l;
}

std::shared_ptr<const CorsConfig> CorsLayer::build() const {
  auto fail = [](const char* what) {
    throw std::invalid_argument(
        std::string("weft::middleware::CorsLayer: invalid configuration: ") + what);
  };
  if (credentials_) {
    // Fetch: on a credentialed request "*" is not a wildcard, so these could never work.
    if (origin_.kind_ == AllowOrigin::Kind::kAny) {
      fail(
          "allow_credentials(true) cannot be combined with AllowOrigin::any() "
          "(`access-control-allow-origin: *`); use a list or AllowOrigin::mirror_request()");
    }
    if (methods_.kind_ == AllowMethods::Kind::kAny) {
      fail(
          "allow_credentials(true) cannot be combined with AllowMethods::any() "
          "(`access-control-allow-methods: *`); use a list or AllowMethods::mirror_request()");
    }
    if (headers_.kind_ == AllowHeaders::Kind::kAny) {
      fail(
          "allow_credentials(true) cannot be combined with AllowHeaders::any() "
          "(`access-control-allow-headers: *`); use a list or AllowHeaders::mirror_request()");
    }
    if (expose_.kind_ == ExposeHeaders::Kind::kAny) {
      fail(
          "allow_credentials(true) cannot be combined with ExposeHeaders::any() "
          "(`access-control-expose-headers: *`); list the headers");
    }
  }
  for (const std::string& o : origin_.origins_) {
    if (!is_serialized_origin(o)) {
      throw std::invalid_argument("weft::middleware::CorsLayer: invalid configuration: \"" + o +
                                  "\" is not an origin (scheme://host[:port], without a path)");
    }
  }
  if (origin_.kind_ == AllowOrigin::Kind::kPredicate && !origin_.predicate_) {
    fail("AllowOrigin::predicate() needs a function");
  }

  auto cfg = std::make_shared<CorsConfig>();
  cfg->origin = origin_;
  cfg->methods_kind = methods_.kind_;
  cfg->headers_kind = headers_.kind_;
  cfg->credentials = credentials_;
  cfg->private_network = private_network_;
  if (methods_.kind_ == AllowMethods::Kind::kAny) {
    cfg->methods = star_value();
  } else if (methods_.kind_ == AllowMethods::Kind::kList) {
    cfg->methods = join(methods_.methods_, [](const http::Method& m) { return m.as_str(); });
  }
  if (headers_.kind_ == AllowHeaders::Kind::kAny) {
    cfg->headers = star_value();
  } else if (headers_.kind_ == AllowHeaders::Kind::kList) {
    cfg->headers = join(headers_.names_, [](const http::HeaderName& n) { return n.as_str(); });
  }
  if (expose_.kind_ == ExposeHeaders::Kind::kAny) {
    cfg->expose = star_value();
  } else if (expose_.kind_ == ExposeHeaders::Kind::kList) {
    cfg->expose = join(expose_.names_, [](const http::HeaderName& n) { return n.as_str(); });
  }
  if (max_age_.has_value()) {
    cfg->max_age = http::HeaderValue::from_integer(
        static_cast<uint64_t>(max_age_->count() < 0 ? 0 : max_age_->count()));
  }
  if (vary_.has_value()) {
    cfg->vary = join(*vary_, [](const http::HeaderName& n) { return n.as_str(); });
  } else {
    cfg->vary = http::HeaderValue::from_static(
        "origin, access-control-request-method, access-control-request-headers");
  }
  return cfg;
}

}  // namespace weft::middleware
