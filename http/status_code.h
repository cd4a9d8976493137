// StatusCode: an HTTP response status code (RFC 9110 §15), a plain uint16_t underneath.
//
//   http::StatusCode s = http::StatusCode::NOT_FOUND;
//   s.as_u16();                 // 404
//   s.canonical_reason();       // "Not Found"
//   absl::StatusOr<http::StatusCode> p = http::StatusCode::from_u16(599);  // ok
//   http::from_status(absl::UnavailableError("down"));   // SERVICE_UNAVAILABLE
//
// The constructor does not check its argument (for constants); from_u16 accepts 100..999, the
// three-digit codes an HTTP/1.1 status line can carry.
#pragma once

#include <compare>
#include <cstdint>
#include <iosfwd>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace weft::http {

class StatusCode {
 public:
  // 200 OK.
  constexpr StatusCode() = default;
  // Unchecked: the caller vouches for 100..999.
  constexpr explicit StatusCode(uint16_t code) : code_(code) {}

  // INVALID_ARGUMENT unless 100 <= code <= 999.
  static absl::StatusOr<StatusCode> from_u16(uint16_t code);

  constexpr uint16_t as_u16() const { return code_; }

  // The reason phrase registered with IANA ("OK", "Not Found", ...); "" for unknown codes.
  std::string_view canonical_reason() const;

  constexpr bool is_informational() const { return code_ >= 100 && code_ < 200; }
  constexpr bool is_success() const { return code_ >= 200 && code_ < 300; }
  constexpr bool is_redirection() const { return code_ >= 300 && code_ < 400; }
  constexpr bool is_client_error() const { return code_ >= 400 && code_ < 500; }
  constexpr bool is_server_error() const { return code_ >= 500 && code_ < 600; }

  friend constexpr bool operator==(StatusCode, StatusCode) = default;
  friend constexpr auto operator<=>(StatusCode, StatusCode) = default;

  friend std::ostream& operator<<(std::ostream& os, StatusCode s);  // "404 Not Found"

  static const StatusCode CONTINUE, SWITCHING_PROTOCOLS;
  static const StatusCode OK, CREATED, ACCEPTED, NO_CONTENT, PARTIAL_CONTENT;
  static const StatusCode MOVED_PERMANENTLY, FOUND, SEE_OTHER, NOT_MODIFIED, TEMPORARY_REDIRECT,
      PERMANENT_REDIRECT;
  static const StatusCode BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, METHOD_NOT_ALLOWED,
      NOT_ACCEPTABLE, REQUEST_TIMEOUT, CONFLICT, GONE, LENGTH_REQUIRED, PAYLOAD_TOO_LARGE,
      URI_TOO_LONG, UNSUPPORTED_MEDIA_TYPE, EXPECTATION_FAILED, UNPROCESSABLE_ENTITY,
      TOO_MANY_REQUESTS, REQUEST_HEADER_FIELDS_TOO_LARGE;
  static const StatusCode INTERNAL_SERVER_ERROR, NOT_IMPLEMENTED, BAD_GATEWAY, SERVICE_UNAVAILABLE,
      GATEWAY_TIMEOUT, HTTP_VERSION_NOT_SUPPORTED;

 private:
  uint16_t code_ = 200;
};

inline constexpr StatusCode StatusCode::CONTINUE{100};
inline constexpr StatusCode StatusCode::SWITCHING_PROTOCOLS{101};
inline constexpr StatusCode StatusCode::OK{200};
inline constexpr StatusCode StatusCode::CREATED{201};
inline constexpr StatusCode StatusCode::ACCEPTED{202};
inline constexpr StatusCode StatusCode::NO_CONTENT{204};
inline constexpr StatusCode StatusCode::PARTIAL_CONTENT{206};
inline constexpr StatusCode StatusCode::MOVED_PERMANENTLY{301};
inline constexpr StatusCode StatusCode::FOUND{302};
inline constexpr StatusCode StatusCode::SEE_OTHER{303};
inline constexpr StatusCode StatusCode::NOT_MODIFIED{304};
inline constexpr StatusCode StatusCode::TEMPORARY_REDIRECT{307};
inline constexpr StatusCode StatusCode::PERMANENT_REDIRECT{308};
inline constexpr StatusCode StatusCode::BAD_REQUEST{400};
inline constexpr StatusCode StatusCode::UNAUTHORIZED{401};
inline constexpr StatusCode StatusCode::FORBIDDEN{403};
inline constexpr StatusCode StatusCode::NOT_FOUND{404};
inline constexpr StatusCode StatusCode::METHOD_NOT_ALLOWED{405};
inline constexpr StatusCode StatusCode::NOT_ACCEPTABLE{406};
inline constexpr StatusCode StatusCode::REQUEST_TIMEOUT{408};
inline constexpr StatusCode StatusCode::CONFLICT{409};
inline constexpr StatusCode StatusCode::GONE{410};
inline constexpr StatusCode StatusCode::LENGTH_REQUIRED{411};
inline constexpr StatusCode StatusCode::PAYLOAD_TOO_LARGE{413};
inline constexpr StatusCode StatusCode::URI_TOO_LONG{414};
inline constexpr StatusCode StatusCode::UNSUPPORTED_MEDIA_TYPE{415};
inline constexpr StatusCode StatusCode::EXPECTATION_FAILED{417};
inline constexpr StatusCode StatusCode::UNPROCESSABLE_ENTITY{422};
inline constexpr StatusCode StatusCode::TOO_MANY_REQUESTS{429};
inline constexpr StatusCode StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE{431};
inline constexpr StatusCode StatusCode::INTERNAL_SERVER_ERROR{500};
inline constexpr StatusCode StatusCode::NOT_IMPLEMENTED{501};
inline constexpr StatusCode StatusCode::BAD_GATEWAY{502};
inline constexpr StatusCode StatusCode::SERVICE_UNAVAILABLE{503};
inline constexpr StatusCode StatusCode::GATEWAY_TIMEOUT{504};
inline constexpr StatusCode StatusCode::HTTP_VERSION_NOT_SUPPORTED{505};

// The response status for an error: INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE 400;
// UNAUTHENTICATED 401; PERMISSION_DENIED 403; NOT_FOUND 404; ALREADY_EXISTS 409;
// RESOURCE_EXHAUSTED 429; UNIMPLEMENTED 501; UNAVAILABLE 503; DEADLINE_EXCEEDED 504;
// OK 200 (not an error); anything else 500.
StatusCode from_status(const absl::Status& status);

}  // namespace weft::http
