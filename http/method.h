// Method: an HTTP request method (RFC 9110 §9), standard ones as an enum, others by name.
//
//   http::Method m = http::Method::POST;
//   absl::StatusOr<http::Method> p = http::Method::parse("PURGE");   // kExtension
//   if (p.ok() && p->kind() == http::Method::Kind::kExtension) { ... p->as_str() ... }
//   if (m.is_idempotent()) { ... }   // GET HEAD PUT DELETE OPTIONS TRACE
//
// Methods are case-sensitive ("get" is an extension method, not GET). A standard method is a
// one-byte kind plus a null pointer: copying it never allocates or touches an atomic. An
// extension method shares its immutable name (a copy is one reference-count increment).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace weft::http {

class Method {
 public:
  enum class Kind : uint8_t {
    kGet,
    kHead,
    kPost,
    kPut,
    kDelete,
    kConnect,
    kOptions,
    kTrace,
    kPatch,
    kExtension,
  };

  static const Method GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH;

  // GET.
  constexpr Method() = default;
  // Copy only (a move is a copy): a moved-from extension method must still have its name, and
  // copying is already cheap.
  Method(const Method&) = default;
  Method& operator=(const Method&) = default;

  // Any RFC 9110 token (1 or more tchar bytes); unknown tokens give kind() == kExtension.
  // INVALID_ARGUMENT when empty or when a byte is not a tchar.
  static absl::StatusOr<Method> parse(std::string_view s);

  Kind kind() const { return kind_; }
  std::string_view as_str() const;

  // Safe methods do not change server state (RFC 9110 §9.2.1): GET, HEAD, OPTIONS, TRACE.
  bool is_safe() const;
  // Idempotent methods may be retried (RFC 9110 §9.2.2): the safe ones, PUT and DELETE.
  bool is_idempotent() const;

  friend bool operator==(const Method& a, const Method& b) {
    if (a.kind_ != b.kind_) return false;
    return a.kind_ != Kind::kExtension || *a.extension_ == *b.extension_;
  }

  friend std::ostream& operator<<(std::ostream& os, const Method& m);

 private:
  constexpr explicit Method(Kind kind) : kind_(kind) {}

  Kind kind_ = Kind::kGet;
  std::shared_ptr<const std::string> extension_;  // set only when kind_ == kExtension
};

// constinit: the constants are ready before any dynamic initializer can read them.
inline constinit const Method Method::GET{Method::Kind::kGet};
inline constinit const Method Method::HEAD{Method::Kind::kHead};
inline constinit const Method Method::POST{Method::Kind::kPost};
inline constinit const Method Method::PUT{Method::Kind::kPut};
inline constinit const Method Method::DELETE{Method::Kind::kDelete};
inline constinit const Method Method::CONNECT{Method::Kind::kConnect};
inline constinit const Method Method::OPTIONS{Method::Kind::kOptions};
inline constinit const Method Method::TRACE{Method::Kind::kTrace};
inline constinit const Method Method::PATCH{Method::Kind::kPatch};

}  // namespace weft::http
