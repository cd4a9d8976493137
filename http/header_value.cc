#include "weft/http/header_value.h"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <stdexcept>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "weft/http/detail/chars.h"

namespace weft::http {

namespace {

// True if some byte of `w` is below 0x20 (a control, or HTAB) or is 0x7F (DEL): the word may
// hold a byte a field value does not allow, and is checked byte by byte. Exact as a yes/no
// (the bit tricks of "Bit Twiddling Hacks": hasless(w, 0x20) and haszero(w ^ 0x7F..7F)).
bool may_hold_a_control(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const uint64_t below_space = (w - kOnes * 0x20) & ~w & kHigh;
  const uint64_t del = w ^ (kOnes * 0x7F);
  return (below_space | ((del - kOnes) & ~del & kHigh)) != 0;
}

// The first byte in [from, to) that a field value does not allow, or npos.
size_t first_invalid_byte(std::string_view s, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i) {
    if (!detail::kFieldValue[detail::byte_at(s, i)]) return i;
  }
  return std::string_view::npos;
}

#if defined(__SSE2__)
// The bits of the bytes of the 16 at `p` that are below 0x20 (a control, or HTAB) or are 0x7F:
// bytes a field value may not allow, checked one by one.
unsigned suspects16(const char* p) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i below_space = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1F)), v);
  const __m128i del = _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7F));
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(below_space, del)));
}
#endif

// The first byte of `s` (at least kBlock bytes) that a field value does not allow, or npos, a
// block at a time, the last block overlapping the one before it (its bytes there are known
// good); a block where suspect(at) is true may hold a control and is checked byte by byte.
template <size_t kBlock, typename Suspect>
size_t first_invalid_in_blocks(std::string_view s, Suspect suspect) {
  const size_t n = s.size();
  for (size_t i = 0;; i += kBlock) {
    const size_t at = i + kBlock <= n ? i : n - kBlock;
    if (suspect(at)) {
      if (size_t bad = first_invalid_byte(s, at, at + kBlock); bad != std::string_view::npos) {
        return bad;
      }
    }
    if (at == n - kBlock) return std::string_view::npos;
  }
}

// The position of the first byte a field value does not allow, or npos: sixteen bytes at a
// time with SSE2, eight for values of 8 to 15 bytes, byte by byte below that.
size_t first_invalid(std::string_view s) {
#if defined(__SSE2__)
  if (s.size() >= 16) {
    return first_invalid_in_blocks<16>(s,
                                       [&](size_t at) { return suspects16(s.data() + at) != 0; });
  }
#endif
  if (s.size() >= 8) {
    return first_invalid_in_blocks<8>(s, [&](size_t at) {
      uint64_t w;
      std::memcpy(&w, s.data() + at, 8);
      return may_hold_a_control(w);
    });
  }
  return first_invalid_byte(s, 0, s.size());
}

absl::Status invalid_at(std::string_view s, size_t i) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid header value: byte ", detail::describe_byte(detail::byte_at(s, i)), " at position ",
      i, " is not allowed (no CR, LF, NUL or other control characters)"));
}

}  // namespace

absl::StatusOr<HeaderValue> HeaderValue::parse(std::string_view s) {
  HeaderValue v;
  if (!v.assign(s)) return invalid_at(s, first_invalid(s));
  return v;
}

bool HeaderValue::assign(std::string_view s) {
  if (first_invalid(s) != std::string_view::npos) return false;
  char* out = value_.assign_for_overwrite(s.size());
  if (!s.empty()) std::memcpy(out, s.data(), s.size());
  sensitive_ = false;
  return true;
}

HeaderValue HeaderValue::from_static(std::string_view s) {
  size_t bad = first_invalid(s);
  if (bad != std::string_view::npos) {
    throw std::invalid_argument(std::string(invalid_at(s, bad).message()));
  }
  return HeaderValue(s);
}

HeaderValue HeaderValue::from_integer(uint64_t n) {
  char buf[20];  // 2^64 - 1 has 20 digits
  std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), n);
  return HeaderValue(std::string_view(buf, r.ptr - buf));
}

std::ostream& operator<<(std::ostream& os, const HeaderValue& v) {
  if (v.is_sensitive()) return os << "Sensitive";
  return os << '"' << absl::CHexEscape(detail::to_absl(v.as_str())) << '"';
}

}  // namespace weft::http
