// Byte-class tables shared by the http value types (internal: not part of the public API).
//
//   if (detail::kTokenLower[byte] == 0) { ... }   // not an RFC 9110 tchar
//   out[i] = detail::kTokenLower[byte];            // validated and lowercased in one lookup
//   if (!detail::kFieldValue[byte]) { ... }        // not allowed in a field value
//
// Parsers of network input index these 256-entry tables once per byte instead of chaining
// comparisons, so validation (and lowercasing, for names) is a single pass.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace weft::http::detail {

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|"
//       / "~" / DIGIT / ALPHA                                          (RFC 9110 §5.6.2)
// kTokenLower[c] is the lowercase form of c when c is a tchar, else 0 (NUL is never a tchar).
inline constexpr std::array<char, 256> kTokenLower = [] {
  std::array<char, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<char>(c);
  for (int c = 'a'; c <= 'z'; ++c) t[c] = static_cast<char>(c);
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = static_cast<char>(c - 'A' + 'a');
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = c;
  return t;
}();

// field-vchar / SP / HTAB / obs-text (RFC 9110 §5.5): every byte but CTLs (0x00-0x1F, 0x7F),
// with HTAB put back. CR, LF and NUL are therefore never accepted.
inline constexpr std::array<bool, 256> kFieldValue = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = c >= 0x20 && c != 0x7F;
  t['\t'] = true;
  return t;
}();

// ASCII lowercase for every byte (non-letters map to themselves), for case-insensitive compares.
inline constexpr std::array<char, 256> kAsciiLower = [] {
  std::array<char, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return t;
}();

inline constexpr unsigned char byte_at(std::string_view s, size_t i) {
  return static_cast<unsigned char>(s[i]);
}

// True if `lower` (already lowercase) equals `other` ignoring ASCII case.
inline bool equals_lowercase(std::string_view lower, std::string_view other) {
  if (lower.size() != other.size()) return false;
  for (size_t i = 0; i < other.size(); ++i) {
    if (kAsciiLower[byte_at(other, i)] != lower[i]) return false;
  }
  return true;
}

// Debian's Abseil is built with its own absl::string_view (not an alias of std::string_view),
// so views are converted explicitly where Abseil functions take them.
inline absl::string_view to_absl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// How a byte is named in error messages: "'x' (0x78)" when printable, else "0x0A". The byte
// itself is never echoed raw, so a hostile CR/LF/NUL cannot reach a log line.
inline std::string describe_byte(unsigned char c) {
  constexpr char kHex[] = "0123456789ABCDEF";
  std::string hex = {'0', 'x', kHex[c >> 4], kHex[c & 0xF]};
  if (c < 0x20 || c >= 0x7F) return hex;
  return std::string("'") + static_cast<char>(c) + "' (" + hex + ")";
}

}  // namespace weft::http::detail
