// StatusCode: range-checked construction, reason phrases, classes, ordering, constants usable
// at compile time, and the absl::Status -> HTTP status mapping.
#define BOOST_TEST_MODULE status_code_test
#include "weft/http/status_code.h"

#include <boost/test/unit_test.hpp>
#include <sstream>
#include <string>

#include "absl/status/status.h"

using weft::http::from_status;
using weft::http::StatusCode;

static_assert(StatusCode::OK.as_u16() == 200);
static_assert(StatusCode::NOT_FOUND.is_client_error());
static_assert(StatusCode(503) == StatusCode::SERVICE_UNAVAILABLE);
static_assert(StatusCode() == StatusCode::OK);

BOOST_AUTO_TEST_CASE(from_u16_accepts_three_digit_codes) {
  for (uint16_t code : {100, 200, 404, 599, 999}) {
    absl::StatusOr<StatusCode> s = StatusCode::from_u16(code);
    BOOST_TEST_REQUIRE(s.ok());
    BOOST_TEST(s->as_u16() == code);
  }
  for (uint16_t code : {0, 1, 99, 1000, 65535}) {
    absl::StatusOr<StatusCode> s = StatusCode::from_u16(code);
    BOOST_TEST(absl::IsInvalidArgument(s.status()));
    BOOST_TEST(std::string(s.status().message()) ==
               "invalid status code " + std::to_string(code) + ": must be in 100..999");
  }
}

BOOST_AUTO_TEST_CASE(canonical_reasons) {
  BOOST_TEST(StatusCode::OK.canonical_reason() == "OK");
  BOOST_TEST(StatusCode::NOT_FOUND.canonical_reason() == "Not Found");
  BOOST_TEST(StatusCode::CONTINUE.canonical_reason() == "Continue");
  BOOST_TEST(StatusCode::INTERNAL_SERVER_ERROR.canonical_reason() == "Internal Server Error");
  BOOST_TEST(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE.canonical_reason() ==
             "Request Header Fields Too Large");
  BOOST_TEST(StatusCode(418).canonical_reason() == "I'm a teapot");
  BOOST_TEST(StatusCode(299).canonical_reason() == "");
  BOOST_TEST(StatusCode(599).canonical_reason() == "");
  BOOST_TEST(StatusCode(999).canonical_reason() == "");
}

BOOST_AUTO_TEST_CASE(constants_have_their_codes_and_reasons) {
  struct Case {
    StatusCode code;
    uint16_t value;
    const char* reason;
  };
  const Case cases[] = {
      {StatusCode::CONTINUE, 100, "Continue"},
      {StatusCode::SWITCHING_PROTOCOLS, 101, "Switching Protocols"},
      {StatusCode::OK, 200, "OK"},
      {StatusCode::CREATED, 201, "Created"},
      {StatusCode::ACCEPTED, 202, "Accepted"},
      {StatusCode::NO_CONTENT, 204, "No Content"},
      {StatusCode::PARTIAL_CONTENT, 206, "Partial Content"},
      {StatusCode::MOVED_PERMANENTLY, 301, "Moved Permanently"},
      {StatusCode::FOUND, 302, "Found"},
      {StatusCode::SEE_OTHER, 303, "See Other"},
      {StatusCode::NOT_MODIFIED, 304, "Not Modified"},
      {StatusCode::TEMPORARY_REDIRECT, 307, "Temporary Redirect"},
      {StatusCode::PERMANENT_REDIRECT, 308, "Permanent Redirect"},
      {StatusCode::BAD_REQUEST, 400, "Bad Request"},
      {StatusCode::UNAUTHORIZED, 401, "Unauthorized"},
      {StatusCode::FORBIDDEN, 403, "Forbidden"},
      {StatusCode::NOT_FOUND, 404, "Not Found"},
      {StatusCode::METHOD_NOT_ALLOWED, 405, "Method Not Allowed"},
      {StatusCode::NOT_ACCEPTABLE, 406, "Not Acceptable"},
      {StatusCode::REQUEST_TIMEOUT, 408, "Request Timeout"},
      {StatusCode::CONFLICT, 409, "Conflict"},
      {StatusCode::GONE, 410, "Gone"},
      {StatusCode::LENGTH_REQUIRED, 411, "Length Required"},
      {StatusCode::PAYLOAD_TOO_LARGE, 413, "Payload Too Large"},
      {StatusCode::URI_TOO_LONG, 414, "URI Too Long"},
      {StatusCode::UNSUPPORTED_MEDIA_TYPE, 415, "Unsupported Media Type"},
      {StatusCode::EXPECTATION_FAILED, 417, "Expectation Failed"},
      {StatusCode::UNPROCESSABLE_ENTITY, 422, "Unprocessable Entity"},
      {StatusCode::TOO_MANY_REQUESTS, 429, "Too Many Requests"},
      {StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, 431, "Request Header Fields Too Large"},
      {StatusCode::INTERNAL_SERVER_ERROR, 500, "Internal Server Error"},
      {StatusCode::NOT_IMPLEMENTED, 501, "Not Implemented"},
      {StatusCode::BAD_GATEWAY, 502, "Bad Gateway"},
      {StatusCode::SERVICE_UNAVAILABLE, 503, "Service Unavailable"},
      {StatusCode::GATEWAY_TIMEOUT, 504, "Gateway Timeout"},
      {StatusCode::HTTP_VERSION_NOT_SUPPORTED, 505, "HTTP Version Not Supported"},
  };
  for (const Case& c : cases) {
    BOOST_TEST(c.code.as_u16() == c.value);
    BOOST_TEST(c.code.canonical_reason() == c.reason);
  }
}

BOOST_AUTO_TEST_CASE(classes_at_their_boundaries) {
  BOOST_TEST(StatusCode(100).is_informational());
  BOOST_TEST(StatusCode(199).is_informational());
  BOOST_TEST(!StatusCode(200).is_informational());
  BOOST_TEST(StatusCode(200).is_success());
  BOOST_TEST(StatusCode(299).is_success());
  BOOST_TEST(!StatusCode(300).is_success());
  BOOST_TEST(StatusCode(300).is_redirection());
  BOOST_TEST(StatusCode(399).is_redirection());
  BOOST_TEST(StatusCode(400).is_client_error());
  BOOST_TEST(StatusCode(499).is_client_error());
  BOOST_TEST(!StatusCode(499).is_server_error());
  BOOST_TEST(StatusCode(500).is_server_error());
  BOOST_TEST(StatusCode(599).is_server_error());
  StatusCode odd(600);  // valid on the wire, in no class
  BOOST_TEST(!odd.is_informational());
  BOOST_TEST(!odd.is_success());
  BOOST_TEST(!odd.is_redirection());
  BOOST_TEST(!odd.is_client_error());
  BOOST_TEST(!odd.is_server_error());
}

BOOST_AUTO_TEST_CASE(compares_and_orders) {
  BOOST_TEST((StatusCode(404) == StatusCode::NOT_FOUND));
  BOOST_TEST((StatusCode::NOT_FOUND != StatusCode::GONE));
  BOOST_TEST((StatusCode::OK < StatusCode::NOT_FOUND));
  BOOST_TEST((StatusCode::BAD_GATEWAY > StatusCode::INTERNAL_SERVER_ERROR));
  BOOST_TEST((StatusCode::OK <= StatusCode::OK));
  BOOST_TEST(((StatusCode::OK <=> StatusCode::CREATED) < 0));
}

BOOST_AUTO_TEST_CASE(prints_code_and_reason) {
  std::ostringstream os;
  os << StatusCode::NOT_FOUND << ',' << StatusCode(599);
  BOOST_TEST(os.str() == "404 Not Found,599");
}

BOOST_AUTO_TEST_CASE(maps_absl_status_codes) {
  struct Case {
    absl::Status status;
    uint16_t http;
  };
  const Case cases[] = {
      {absl::InvalidArgumentError("x"), 400},  {absl::FailedPreconditionError("x"), 400},
      {absl::OutOfRangeError("x"), 400},       {absl::UnauthenticatedError("x"), 401},
      {absl::PermissionDeniedError("x"), 403}, {absl::NotFoundError("x"), 404},
      {absl::AlreadyExistsError("x"), 409},    {absl::ResourceExhaustedError("x"), 429},
      {absl::InternalError("x"), 500},         {absl::UnknownError("x"), 500},
      {absl::CancelledError("x"), 500},        {absl::AbortedError("x"), 500},
      {absl::DataLossError("x"), 500},         {absl::UnimplementedError("x"), 501},
      {absl::UnavailableError("x"), 503},      {absl::DeadlineExceededError("x"), 504},
  };
  for (const Case& c : cases) {
    BOOST_TEST(from_status(c.status).as_u16() == c.http, c.status.ToString());
  }
}

BOOST_AUTO_TEST_CASE(ok_status_maps_to_200) {
  BOOST_TEST((from_status(absl::OkStatus()) == StatusCode::OK));
}
