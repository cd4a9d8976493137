// Fuzz target of Uri::parse: whatever string it is given, an accepted Uri is consistent with
// the string and with itself (uri.h's promises), and parsing is stable.
//
// Input: the string (no mode byte). The corpus (corpus/uri/) has every form uri.h names.
//
// Properties, for an accepted string s:
//   - every byte of to_string() is visible ASCII, and parse(to_string()) gives the same Uri;
//   - s with its fragment ("#...") dropped is accepted as the same Uri;
//   - origin-form: to_string() is s without the fragment, path() starts with '/', and
//     path_and_query() is the whole;
//   - absolute-form: the scheme is s's, lowercased; the host is not empty; the authority has no
//     '@'; to_string() is scheme "://" authority path_and_query, the path starting with '/';
//   - authority-form: a port; asterisk-form: "*";
//   - a port, when there is one, is the decimal after the host's ':' (<= 65535);
//   - query_param() and percent_decode() on any key or piece of the query do not crash, and a
//     decoded value is never longer than its source.
// For any string: no crash, no sanitizer report, an error with a message.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "weft/http/detail/chars.h"
#include "weft/http/uri.h"
#include "weft/tools/fuzz/check.h"

namespace {

using weft::http::Uri;

bool visible(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out += weft::http::detail::kAsciiLower[c];
  return out;
}

bool same(const Uri& a, const Uri& b) {
  return a.to_string() == b.to_string() && a.form() == b.form() && a.scheme() == b.scheme() &&
         a.authority() == b.authority() && a.host() == b.host() && a.port() == b.port() &&
         a.path() == b.path() && a.query() == b.query();
}

void check_query(const Uri& u) {
  std::string_view q = u.query();
  while (!q.empty()) {
    std::size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    std::string_view key = pair.substr(0, pair.find('='));
    std::optional<std::string> v = u.query_param(key);
    if (v.has_value())
      WEFT_FUZZ_CHECK(v->size() <= u.query().size(), "a query value longer than the query");
    std::optional<std::string> d = Uri::percent_decode(pair);
    if (d.has_value()) WEFT_FUZZ_CHECK(d->size() <= pair.size(), "decoding made a piece longer");
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<Uri> u = Uri::parse(s);
  if (!u.ok()) {
    WEFT_FUZZ_CHECK(!u.status().message().empty(), "a rejection without a message");
    return 0;
  }
  const std::string whole = u->to_string();
  WEFT_FUZZ_CHECK(visible(whole), "an accepted URI with a byte that is not visible ASCII");
  absl::StatusOr<Uri> again = Uri::parse(whole);
  WEFT_FUZZ_CHECK(again.ok() && same(*u, *again), "to_string() does not parse back the same");
  const std::string_view no_fragment = s.substr(0, s.find('#'));
  absl::StatusOr<Uri> bare = Uri::parse(no_fragment);
  WEFT_FUZZ_CHECK(bare.ok() && same(*u, *bare), "the fragment changed what was parsed");

  switch (u->form()) {
    case Uri::Form::kOrigin:
      WEFT_FUZZ_CHECK(whole == no_fragment, "origin-form changed the target");
      WEFT_FUZZ_CHECK(!u->path().empty() && u->path()[0] == '/', "origin-form without a '/'");
      WEFT_FUZZ_CHECK(u->path_and_query() == whole, "origin-form: path and query are not all");
      break;
    case Uri::Form::kAbsolute: {
      std::size_t sep = no_fragment.find("://");
      WEFT_FUZZ_CHECK(sep != std::string_view::npos && u->scheme() == lower(s.substr(0, sep)),
                      "absolute-form: another scheme than the string's");
      WEFT_FUZZ_CHECK(!u->host().empty(), "absolute-form without a host");
      WEFT_FUZZ_CHECK(u->authority().find('@') == std::string_view::npos, "userinfo accepted");
      WEFT_FUZZ_CHECK(!u->path().empty() && u->path()[0] == '/', "absolute-form without a path");
      WEFT_FUZZ_CHECK(whole == std::string(u->scheme()) + "://" + std::string(u->authority()) +
                                   u->path_and_query(),
                      "absolute-form: the parts are not the whole");
      break;
    }
    case Uri::Form::kAuthority:
      WEFT_FUZZ_CHECK(u->port().has_value(), "authority-form without a port");
      break;
    case Uri::Form::kAsterisk:
      WEFT_FUZZ_CHECK(whole == "*", "asterisk-form that is not *");
      break;
  }
  if (u->port().has_value()) {
    std::string_view after_host = u->authority().substr(u->host().size());
    WEFT_FUZZ_CHECK(after_host.size() >= 2 && after_host[0] == ':', "a port without its ':'");
    uint32_t n = 0;
    for (char c : after_host.substr(1)) {
      WEFT_FUZZ_CHECK(c >= '0' && c <= '9', "a port that is not decimal");
      n = std::min<uint32_t>(n * 10 + static_cast<uint32_t>(c - '0'), 100000);
    }
    WEFT_FUZZ_CHECK(n == *u->port(), "the port is not the decimal after the host");
  }
  check_query(*u);
  return 0;
}
