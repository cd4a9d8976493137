// Version: the HTTP protocol version of a request or response.
//
//   http::Version v = http::Version::kHttp11;
//   http::to_string(v);              // "HTTP/1.1"
//   if (req.version() == http::Version::kHttp10) { ... }   // no keep-alive by default
//
// HTTP/2 is written "HTTP/2" (RFC 9113 drops the minor version).
#pragma once

#include <cstdint>
#include <ostream>
#include <string_view>

namespace weft::http {

enum class Version : uint8_t { kHttp10, kHttp11, kHttp2 };

constexpr std::string_view to_string(Version v) {
  switch (v) {
    case Version::kHttp10:
      return "HTTP/1.0";
    case Version::kHttp11:
      return "HTTP/1.1";
    case Version::kHttp2:
      return "HTTP/2";
  }
  return "HTTP/?";  // unreachable for valid enumerators
}

inline std::ostream& operator<<(std::ostream& os, Version v) { return os << to_string(v); }

}  // namespace weft::http
