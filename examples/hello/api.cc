#include "examples/hello/api.h"

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "weft/http/path_params.h"
#include "weft/middleware/auth/bearer_auth.h"

namespace hello {

namespace {

namespace http = weft::http;
using Req = http::Request<http::Body>;
using Resp = http::Response<http::Body>;
using Json = nlohmann::json;
using weft::Task;

// Largest PUT body read (the limit middleware answers 413 before the handler for larger ones;
// this bound keeps the handler safe on its own too).
constexpr std::size_t kMaxBody = 64 * 1024;

Resp json_response(http::StatusCode status, const Json& body) {
  Resp r(status, http::Body(body.dump()));
  r.headers().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
  return r;
}

Resp json_error(http::StatusCode status, std::string message) {
  return json_response(status, Json{{"error", std::move(message)}});
}

bool valid_key(std::string_view key) {
  if (key.empty() || key.size() > 64) return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// The {key} path parameter, or the 400 to answer.
absl::StatusOr<std::string> key_of(const Req& req) {
  const http::PathParams* p = req.extensions().get<http::PathParams>();
  std::optional<std::string_view> key = p != nullptr ? p->get("key") : std::nullopt;
  if (!key.has_value() || !valid_key(*key)) {
    return absl::InvalidArgumentError("key must be 1-64 characters of [A-Za-z0-9._-]");
  }
  return std::string(*key);
}

Json item(const std::string& key, const std::string& value_json) {
  return Json{{"key", key}, {"value", Json::parse(value_json)}};
}

Task<absl::StatusOr<Resp>> healthz(Req) {
  co_return json_response(http::StatusCode::OK, Json{{"status", "ok"}});
}

Task<absl::StatusOr<Resp>> list_items(Req, ItemStore& store) {
  Json items = Json::array();
  for (const auto& [k, v] : store.list()) items.push_back(item(k, v));
  co_return json_response(http::StatusCode::OK, Json{{"items", std::move(items)}});
}

Task<absl::StatusOr<Resp>> get_item(Req req, ItemStore& store) {
  absl::StatusOr<std::string> key = key_of(req);
  if (!key.ok()) co_return json_error(http::StatusCode::BAD_REQUEST, std::string(key.status().message()));
  std::optional<std::string> v = store.get(*key);
  if (!v.has_value()) co_return json_error(http::StatusCode::NOT_FOUND, "no item \"" + *key + "\"");
  co_return json_response(http::StatusCode::OK, item(*key, *v));
}

Task<absl::StatusOr<Resp>> put_item(Req req, ItemStore& store) {
  absl::StatusOr<std::string> key = key_of(req);
  if (!key.ok()) co_return json_error(http::StatusCode::BAD_REQUEST, std::string(key.status().message()));
  const http::HeaderValue* ct = req.headers().get("content-type");
  if (ct == nullptr || ct->as_str().substr(0, 16) != "application/json") {
    co_return json_error(http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                         "content-type must be application/json");
  }
  absl::StatusOr<weft::io::Bytes> body = co_await req.body().collect(kMaxBody);
  if (!body.ok()) {
    if (absl::IsResourceExhausted(body.status())) {
      co_return json_error(http::StatusCode::PAYLOAD_TOO_LARGE, std::string(body.status().message()));
    }
    co_return json_error(http::StatusCode::BAD_REQUEST, std::string(body.status().message()));
  }
  Json doc = Json::parse(body->as_string_view(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) co_return json_error(http::StatusCode::BAD_REQUEST, "body is not valid JSON");
  if (!doc.is_object() || !doc.contains("value")) {
    co_return json_error(http::StatusCode::BAD_REQUEST, R"(body must be an object with a "value")");
  }
  bool created = store.put(*key, doc["value"].dump());
  co_return json_response(created ? http::StatusCode::CREATED : http::StatusCode::OK,
                          item(*key, doc["value"].dump()));
}

Task<absl::StatusOr<Resp>> delete_item(Req req, ItemStore& store) {
  absl::StatusOr<std::string> key = key_of(req);
  if (!key.ok()) co_return json_error(http::StatusCode::BAD_REQUEST, std::string(key.status().message()));
  if (!store.erase(*key)) co_return json_error(http::StatusCode::NOT_FOUND, "no item \"" + *key + "\"");
  co_return Resp(http::StatusCode::NO_CONTENT, http::Body());
}

Task<absl::StatusOr<std::string>> check_token(std::string token, std::string expected) {
  if (token != expected) co_return absl::UnauthenticatedError("unknown token");
  co_return std::string("writer");
}

}  // namespace

void add_routes(http::Router& router, std::shared_ptr<ItemStore> store, std::string token) {
  namespace mw = weft::middleware;
  // Writes first, then their auth layer (route_layer wraps the routes registered so far), then
  // the reads. The Router reports each matched pattern to trace and metrics.
  router.with_state(std::move(store))
      .put("/v1/items/{key}", &put_item)
      .delete_("/v1/items/{key}", &delete_item)
      .route_layer(mw::BearerAuthLayer([token](std::string_view t) {
                     return check_token(std::string(t), token);
                   }).realm("hello"))
      .get("/healthz", &healthz)
      .get("/v1/items", &list_items)
      .get("/v1/items/{key}", &get_item);
}

}  // namespace hello
