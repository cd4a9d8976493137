#include "weft/runtime/io/bytes.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "absl/strings/str_cat.h"

namespace weft::io {

namespace {

// Count and bytes in one allocation: [InlineBlock][capacity bytes].
struct InlineBlock : detail::BytesShared {
  char* bytes() { return reinterpret_cast<char*>(this + 1); }
  static InlineBlock* create(std::size_t capacity) {
    void* mem = ::operator new(sizeof(InlineBlock) + capacity);
    auto* b = new (mem) InlineBlock();
    b->destroy = [](detail::BytesShared* s) {
      auto* self = static_cast<InlineBlock*>(s);
      self->~InlineBlock();
      ::operator delete(static_cast<void*>(self));
    };
    return b;
  }
};

// Owns an adopted std::string.
struct StringBlock : detail::BytesShared {
  std::string s;
  explicit StringBlock(std::string&& str) : s(std::move(str)) {
    destroy = [](detail::BytesShared* b) { delete static_cast<StringBlock*>(b); };
  }
};

void check_range(std::size_t begin, std::size_t end, std::size_t size, const char* what) {
  if (begin > end || end > size) {
    throw std::out_of_range(
        absl::StrCat(what, ": range [", begin, ", ", end, ") out of bounds for size ", size));
  }
}

}  // namespace

// ---- Bytes ----------------------------------------------------------------------------------

Bytes Bytes::from(std::string&& s) {
  if (s.empty()) return Bytes();
  auto* b = new StringBlock(std::move(s));
  return Bytes(b->s.data(), b->s.size(), b);
}

Bytes Bytes::copy_from(std::span<const char> src) {
  if (src.empty()) return Bytes();
  InlineBlock* b = InlineBlock::create(src.size());
  std::memcpy(b->bytes(), src.data(), src.size());
  return Bytes(b->bytes(), src.size(), b);
}

absl::Cord Bytes::to_cord() const {
  if (len_ == 0) return absl::Cord();
  if (shared_ == nullptr) return absl::MakeCordFromExternal(absl::string_view(ptr_, len_), [] {});
  Bytes keep(*this);
  return absl::MakeCordFromExternal(absl::string_view(ptr_, len_), [keep = std::move(keep)] {});
}

Bytes Bytes::slice(std::size_t begin, std::size_t end) const {
  check_range(begin, end, len_, "Bytes::slice");
  if (begin == end) return Bytes();
  if (shared_ != nullptr) shared_->ref();
  return Bytes(ptr_ + begin, end - begin, shared_);
}

Bytes Bytes::split_to(std::size_t n) {
  check_range(0, n, len_, "Bytes::split_to");
  Bytes head = slice(0, n);
  ptr_ += n;
  len_ -= n;
  return head;
}

Bytes Bytes::split_off(std::size_t at) {
  check_range(at, len_, len_, "Bytes::split_off");
  Bytes tail = slice(at, len_);
  len_ = at;
  return tail;
}

// ---- BytesMut -------------------------------------------------------------------------------

void BytesMut::reserve(std::size_t additional) {
  if (cap_ - len_ >= additional) return;
  // Doubling keeps appends amortised O(1); 64 bytes avoids tiny blocks.
  std::size_t ncap = std::max({len_ + additional, cap_ * 2, std::size_t{64}});
  InlineBlock* b = InlineBlock::create(ncap);
  if (len_ > 0) std::memcpy(b->bytes(), ptr_, len_);
  if (shared_ != nullptr) shared_->unref();
  shared_ = b;
  ptr_ = b->bytes();
  cap_ = ncap;
}

void BytesMut::append(std::span<const char> src) {
  if (src.empty()) return;
  reserve(src.size());
  std::memcpy(ptr_ + len_, src.data(), src.size());
  len_ += src.size();
}

BytesMut BytesMut::split_to(std::size_t n) {
  check_range(0, n, len_, "BytesMut::split_to");
  BytesMut head;
  if (n == 0) return head;
  shared_->ref();
  head.ptr_ = ptr_;
  head.len_ = n;
  head.cap_ = n;
  head.shared_ = shared_;
  ptr_ += n;
  len_ -= n;
  cap_ -= n;
  return head;
}

BytesMut BytesMut::split_off(std::size_t at) {
  check_range(at, len_, len_, "BytesMut::split_off");
  BytesMut tail;
  if (at == cap_) return tail;  // nothing after `at`, not even spare capacity
  shared_->ref();
  tail.ptr_ = ptr_ + at;
  tail.len_ = len_ - at;
  tail.cap_ = cap_ - at;
  tail.shared_ = shared_;
  len_ = at;
  cap_ = at;
  return tail;
}

Bytes BytesMut::freeze() && {
  if (len_ == 0) {
    BytesMut gone = std::move(*this);
    return Bytes();
  }
  Bytes b(ptr_, len_, std::exchange(shared_, nullptr));
  ptr_ = nullptr;
  len_ = cap_ = 0;
  return b;
}

}  // namespace weft::io
