// InlineString: an immutable-size byte string that keeps up to 23 bytes inline, the storage of
// HeaderName, HeaderValue and Uri. Private to http/.
//
//   detail::InlineString s("text/plain");     // inline: no allocation
//   s.view();                                  // "text/plain"
//   char* p = s.assign_for_overwrite(40);      // room for 40 bytes (on the heap), to fill in
//
// Why not std::string: these values are parsed once and then moved through the parser, the
// request head and every layer of a service stack. Moving a short std::string copies its bytes
// through a memcpy call and then rewrites the source; moving an InlineString copies 24 bytes
// and clears one byte. Not NUL-terminated; no append: a value is built whole, then read.
//
// Layout (24 bytes): the last byte is the inline length (0..23), or kHeap when the bytes are on
// the heap, and then the first 16 bytes hold the pointer and the length.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>

namespace weft::http::detail {

class InlineString {
 public:
  static constexpr size_t kInline = 23;

  InlineString() noexcept = default;
  explicit InlineString(std::string_view s) {
    char* out = assign_for_overwrite(s.size());
    if (!s.empty()) std::memcpy(out, s.data(), s.size());
  }
  InlineString(const InlineString& other) {
    if (!other.on_heap()) {
      std::memcpy(rep_, other.rep_, sizeof(rep_));
    } else {
      std::string_view v = other.view();
      std::memcpy(assign_for_overwrite(v.size()), v.data(), v.size());
    }
  }
  InlineString(InlineString&& other) noexcept {
    std::memcpy(rep_, other.rep_, sizeof(rep_));
    other.rep_[kTag] = 0;
  }
  InlineString& operator=(const InlineString& other) {
    if (this != &other) *this = InlineString(other);
    return *this;
  }
  InlineString& operator=(InlineString&& other) noexcept {
    if (this != &other) {
      release();
      std::memcpy(rep_, other.rep_, sizeof(rep_));
      other.rep_[kTag] = 0;
    }
    return *this;
  }
  ~InlineString() { release(); }

  // Makes this `n` bytes long with unspecified contents; returns where to write them.
  char* assign_for_overwrite(size_t n) {
    release();
    if (n <= kInline) {
      rep_[kTag] = static_cast<char>(n);
      return rep_;
    }
    char* p = new char[n];
    std::memcpy(rep_, &p, sizeof(p));
    std::memcpy(rep_ + sizeof(p), &n, sizeof(n));
    rep_[kTag] = static_cast<char>(kHeap);
    return p;
  }

  std::string_view view() const {
    if (!on_heap()) return std::string_view(rep_, static_cast<unsigned char>(rep_[kTag]));
    return std::string_view(heap_ptr(), heap_size());
  }
  size_t size() const { return on_heap() ? heap_size() : static_cast<unsigned char>(rep_[kTag]); }
  bool empty() const { return size() == 0; }

  friend bool operator==(const InlineString& a, const InlineString& b) {
    return a.view() == b.view();
  }

 private:
  static constexpr size_t kTag = 23;
  static constexpr unsigned char kHeap = 0xFF;

  bool on_heap() const { return static_cast<unsigned char>(rep_[kTag]) == kHeap; }
  char* heap_ptr() const {
    char* p;
    std::memcpy(&p, rep_, sizeof(p));
    return p;
  }
  size_t heap_size() const {
    size_t n;
    std::memcpy(&n, rep_ + sizeof(char*), sizeof(n));
    return n;
  }
  void release() noexcept {
    if (on_heap()) {
      delete[] heap_ptr();
      rep_[kTag] = 0;
    }
  }

  alignas(8) char rep_[24] = {};  // empty and inline
};

}  // namespace weft::http::detail
