#include "weft/http/header_name.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <optional>
#include <ostream>
#include <stdexcept>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace weft::http {
namespace {

constexpr size_t kStandardCount = std::size(detail::kStandardHeaderNames);

constexpr size_t kLongestStandard = [] {
  size_t n = 0;
  for (std::string_view s : detail::kStandardHeaderNames) n = std::max(n, s.size());
  return n;
}();

// Standard names are found with an open-addressed table keyed by a hash of the lowercased
// name's first and last 8 bytes and its length, each name kept as zero-padded 8-byte words: a
// lookup is one hash, usually one probe and a compare of at most four words. (The scan of the
// names of the same length it replaces cost about 60 instructions for "host", and its memcmp
// call 20 more.)
constexpr size_t kWords = (kLongestStandard + 7) / 8;
using Words = std::array<uint64_t, kWords>;
constexpr size_t kSlots = 256;  // a power of two, under a third full
static_assert(kStandardCount * 3 < kSlots);

// The 8 bytes of `s` from `at` as a little-endian word (the bytes past the end are zero).
constexpr uint64_t word_at(std::string_view s, size_t at) {
  uint64_t w = 0;
  for (size_t k = 0; k < 8 && at + k < s.size(); ++k) {
    w |= uint64_t{static_cast<unsigned char>(s[at + k])} << (8 * k);
  }
  return w;
}

// `last` is the word of the name's last 8 bytes (the first word for shorter names).
constexpr size_t slot_of(uint64_t first, uint64_t last, size_t len) {
  const uint64_t h = (first ^ ((last << 29) | (last >> 35)) ^ len) * 0x9E3779B97F4A7C15ULL;
  return static_cast<size_t>(h >> 56) & (kSlots - 1);
}

struct StandardTable {
  std::array<Words, kStandardCount> words{};
  std::array<uint8_t, kSlots> slots{};  // index + 1 of the name there, 0 for an empty slot
};

constexpr StandardTable kStandardTable = [] {
  StandardTable t;
  for (size_t i = 0; i < kStandardCount; ++i) {
    std::string_view s = detail::kStandardHeaderNames[i];
    for (size_t k = 0; k < kWords; ++k) t.words[i][k] = word_at(s, 8 * k);
    const uint64_t last = s.size() < 8 ? t.words[i][0] : word_at(s, s.size() - 8);
    size_t slot = slot_of(t.words[i][0], last, s.size());
    while (t.slots[slot] != 0) slot = (slot + 1) & (kSlots - 1);
    t.slots[slot] = static_cast<uint8_t>(i + 1);
  }
  return t;
}();

uint64_t load_word(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

// `lower` (lowercase, `len` bytes, zero-padded to kWords words) as a standard name's index.
std::optional<uint8_t> find_standard(const char* lower, size_t len) {
  static_assert(std::endian::native == std::endian::little, "word_at builds little-endian words");
  const uint64_t first = load_word(lower);
  const uint64_t last = len < 8 ? first : load_word(lower + len - 8);
  for (size_t slot = slot_of(first, last, len);; slot = (slot + 1) & (kSlots - 1)) {
    const uint8_t entry = kStandardTable.slots[slot];
    if (entry == 0) return std::nullopt;
    const uint8_t i = entry - 1;
    if (detail::kStandardHeaderNames[i].size() != len) continue;
    const Words& w = kStandardTable.words[i];
    size_t k = 0;
    while (k * 8 < len && w[k] == load_word(lower + 8 * k)) ++k;
    if (k * 8 >= len) return i;
  }
}

// Names of at most this many bytes are lowercased on the stack, in whole 16-byte blocks.
constexpr size_t kShortBytes = (kWords * 8 + 15) / 16 * 16;

// Lowercases `s` into `out`, byte by byte; false if a byte of it is not a tchar.
bool lower_bytes(std::string_view s, char* out) {
  for (size_t i = 0; i < s.size(); ++i) {
    const char lower = detail::kTokenLower[detail::byte_at(s, i)];
    if (lower == 0) return false;
    out[i] = lower;
  }
  return true;
}

// lower_bytes for a short name: `s` (at most kShortBytes) into `out` (kShortBytes, zeroed).
bool lower_token(std::string_view s, char* out) {
#if defined(__SSE2__)
  // From 8 bytes on, sixteen at a time, in place: A-Z get 0x20 added, and the bytes that are
  // then a-z, 0-9 or '-' (every byte of a usual name) are known good; any other byte is looked
  // up in kTokenLower. (Signed compares: bytes from 0x80 are negative, so they are never letters
  // or digits.) Shorter names cost less byte by byte than the copy.
  if (s.size() >= 8) {
    std::memcpy(out, s.data(), s.size());
    for (size_t at = 0; at < s.size(); at += 16) {
      const auto in_range = [](__m128i v, char lo, char hi) {
        return _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(static_cast<char>(lo - 1))),
                             _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(hi + 1))));
      };
      auto* block = reinterpret_cast<__m128i*>(out + at);
      __m128i v = _mm_load_si128(block);
      v = _mm_or_si128(v, _mm_and_si128(in_range(v, 'A', 'Z'), _mm_set1_epi8(0x20)));
      _mm_store_si128(block, v);
      const __m128i usual = _mm_or_si128(_mm_or_si128(in_range(v, 'a', 'z'), in_range(v, '0', '9')),
                                         _mm_cmpeq_epi8(v, _mm_set1_epi8('-')));
      const size_t end = std::min(s.size(), at + 16);
      const unsigned wanted = (1u << (end - at)) - 1;
      if ((static_cast<unsigned>(_mm_movemask_epi8(usual)) & wanted) == wanted) continue;
      for (size_t i = at; i < end; ++i) {
        if (detail::kTokenLower[static_cast<unsigned char>(out[i])] == 0) return false;
      }
    }
    return true;
  }
#endif
  return lower_bytes(s, out);
}

// Names are not secrets, so errors show them (escaped, and cut short if long).
std::string quoted(std::string_view s) {
  constexpr size_t kShown = 64;
  std::string q = absl::StrCat("\"", absl::CHexEscape(detail::to_absl(s.substr(0, kShown))), "\"");
  if (s.size() > kShown) absl::StrAppend(&q, "...");
  return q;
}

// Why `s` is not a valid name (HeaderName::assign said it is not).
absl::Status invalid_name(std::string_view s) {
  if (s.empty()) return absl::InvalidArgumentError("invalid header name: empty");
  if (s.size() > HeaderName::kMaxLength) {
    return absl::InvalidArgumentError(absl::StrCat("invalid header name: ", s.size(),
                                                   " bytes, longer than ", HeaderName::kMaxLength));
  }
  size_t i = 0;
  while (i < s.size() && detail::kTokenLower[detail::byte_at(s, i)] != 0) ++i;
  return absl::InvalidArgumentError(absl::StrCat("invalid header name ", quoted(s), ": byte ",
                                                 detail::describe_byte(detail::byte_at(s, i)),
                                                 " at position ", i, " is not a token character"));
}

}  // namespace

absl::StatusOr<HeaderName> HeaderName::parse(std::string_view s) {
  HeaderName name;
  if (!name.assign(s)) return invalid_name(s);
  return name;
}

bool HeaderName::assign(std::string_view s) {
  if (s.empty() || s.size() > kMaxLength) return false;
  if (s.size() > kShortBytes) {  // never a standard name: straight into its own storage
    if (!lower_bytes(s, custom_.assign_for_overwrite(s.size()))) return false;
    standard_ = kCustom;
    return true;
  }
  // Lowercased on the stack, zero-padded for find_standard: a standard name never touches the
  // heap.
  alignas(16) char stack[kShortBytes] = {};
  if (!lower_token(s, stack)) return false;
  if (std::optional<uint8_t> i = find_standard(stack, s.size())) {
    standard_ = *i;
  } else {
    standard_ = kCustom;
    custom_ = detail::InlineString(std::string_view(stack, s.size()));
  }
  return true;
}

HeaderName HeaderName::from_static(std::string_view s) {
  absl::StatusOr<HeaderName> name = parse(s);
  if (!name.ok()) throw std::invalid_argument(std::string(name.status().message()));
  if (name->as_str() != s) {
    throw std::invalid_argument(
        absl::StrCat("HeaderName::from_static(", quoted(s), "): must be lowercase"));
  }
  return *std::move(name);
}

std::ostream& operator<<(std::ostream& os, const HeaderName& n) { return os << n.as_str(); }

}  // namespace weft::http
