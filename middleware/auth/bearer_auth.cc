#include "weft/middleware/auth/bearer_auth.h"

namespace weft::middleware {

namespace {

bool b64token_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="   (RFC 6750 §2.1)
bool is_b64token(std::string_view t) {
  size_t i = 0;
  while (i < t.size() && b64token_byte(t[i])) ++i;
  if (i == 0) return false;
  while (i < t.size() && t[i] == '=') ++i;
  return i == t.size();
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string_view> bearer_token(const http::HeaderMap& headers) {
  const http::HeaderValue* only = nullptr;
  for (const http::HeaderValue& v : headers.values(http::header::AUTHORIZATION)) {
    if (only != nullptr) return std::nullopt;  // several: which one would count?
    only = &v;
  }
  if (only == nullptr) return std::nullopt;
  std::string_view s = only->as_str();
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  size_t sp = s.find_first_of(" \t");
  std::string_view scheme = s.substr(0, sp);
  if (!iequals(scheme, "bearer")) return std::nullopt;
  if (sp == std::string_view::npos) return std::string_view();
  std::string_view token = s.substr(sp);
  while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
  if (!is_b64token(token)) return std::string_view();
  return token;
}

AuthFailure classify_auth_failure(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kPermissionDenied:
      return AuthFailure::kForbidden;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kUnimplemented:
      return AuthFailure::kPassThrough;
    default:
      return AuthFailure::kUnauthorized;
  }
}

namespace detail {

BearerChallenges BearerChallenges::make(const std::string& realm) {
  std::string prefix = "Bearer";
  std::string params;
  if (!realm.empty()) {
    params = " realm=\"";
    for (char c : realm) {
      unsigned char u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7F) continue;  // no control bytes in a header value
      if (c == '"' || c == '\\') params += '\\';
      params += c;
    }
    params += "\"";
  }
  std::string sep = params.empty() ? " " : ", ";
  return BearerChallenges{
      http::HeaderValue::parse(prefix + params).value(),
      http::HeaderValue::parse(prefix + params + sep + "error=\"invalid_token\"").value(),
      http::HeaderValue::parse(prefix + params + sep + "error=\"insufficient_scope\"").value(),
  };
}

HttpResponse challenge_response(http::StatusCode code, const http::HeaderValue& challenge) {
  HttpResponse resp = text_response(code);
  resp.headers().insert(http::header::WWW_AUTHENTICATE, challenge);
  return resp;
}

}  // namespace detail

}  // namespace weft::middleware
