// HeaderMap: the header fields of a request or response. Multi-valued, names compared
// ignoring case, insertion order kept (it is the order on the wire).
//
//   http::HeaderMap h;
//   h.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/html"));
//   absl::Status s = h.append("Set-Cookie", "a=1");   // validates name and value
//   if (const http::HeaderValue* v = h.get("content-type")) { ... v->as_str() ... }
//   for (const http::HeaderMap::Entry& e : h) { ... e.name, e.value ... }
//   h.remove("set-cookie");                            // every value; returns how many
//
// Storage is one vector of entries (the parser reserves the exact count: one allocation per
// map); names of standard headers and values of at most 23 bytes need no allocation of their
// own. The map itself is 3 words, so requests and responses stay small and cheap to move
// through a stack of services (an inline array of entries made every move and every coroutine
// frame holding a request copy ~650 bytes: measured slower per request). Lookups are a linear
// scan: real maps are small, and a scan over contiguous entries beats hashing there.
//
// Lookup by std::string_view ignores case; lookup by HeaderName (e.g. header::HOST) compares the
// stored lowercase names directly and is the faster of the two.
#pragma once

#include <cstddef>
#include <iterator>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "weft/http/header_name.h"
#include "weft/http/header_value.h"

namespace weft::http {

class HeaderMap {
 public:
  struct Entry {
    HeaderName name;
    HeaderValue value;
  };

  class Values;  // the values of one name, without allocating: see values()

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  void clear() { entries_.clear(); }  // keeps the capacity
  void reserve(size_t n) { entries_.reserve(n); }
  size_t capacity() const { return entries_.capacity(); }

  // The first value of `name`, or nullptr.
  const HeaderValue* get(std::string_view name) const;
  const HeaderValue* get(const HeaderName& name) const;

  // Every value of `name`, in insertion order; the views point into this map and are valid
  // until it is next modified. Allocates the vector: values(name) does not.
  std::vector<std::string_view> get_all(std::string_view name) const;
  std::vector<std::string_view> get_all(const HeaderName& name) const;

  // Like get_all, as a forward range of const HeaderValue& over this map (no allocation).
  Values values(std::string_view name) const;
  Values values(const HeaderName& name) const;

  bool contains(std::string_view name) const { return get(name) != nullptr; }
  bool contains(const HeaderName& name) const { return get(name) != nullptr; }

  // Adds a value after the existing ones.
  void append(HeaderName name, HeaderValue value);
  // Replaces every value of `name` with `value`, at the position of the first one (or appended).
  void insert(HeaderName name, HeaderValue value);

  // Removes every value of `name`; returns how many there were.
  size_t remove(std::string_view name);
  size_t remove(const HeaderName& name);

  // Validating forms of append/insert: INVALID_ARGUMENT (and no change) if the name or the value
  // is invalid.
  absl::Status append(std::string_view name, std::string_view value);
  absl::Status insert(std::string_view name, std::string_view value);
  absl::Status append(HeaderName name, std::string_view value);
  absl::Status insert(HeaderName name, std::string_view value);

  // Entries in insertion order.
  using const_iterator = std::vector<Entry>::const_iterator;
  const_iterator begin() const { return entries_.begin(); }
  const_iterator end() const { return entries_.end(); }

 private:
  std::vector<Entry> entries_;
};

class HeaderMap::Values {
 public:
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = HeaderValue;
    using difference_type = std::ptrdiff_t;
    using pointer = const HeaderValue*;
    using reference = const HeaderValue&;

    iterator() = default;
    reference operator*() const { return it_->value; }
    pointer operator->() const { return &it_->value; }
    iterator& operator++() {
      ++it_;
      skip();
      return *this;
    }
    iterator operator++(int) {
      iterator old = *this;
      ++*this;
      return old;
    }
    friend bool operator==(const iterator& a, const iterator& b) { return a.it_ == b.it_; }

   private:
    friend class Values;
    iterator(const_iterator it, const_iterator end, std::string_view name)
        : it_(it), end_(end), name_(name) {
      skip();
    }
    void skip() {
      while (it_ != end_ && !(it_->name == name_)) ++it_;
    }

    const_iterator it_{};
    const_iterator end_{};
    std::string_view name_;
  };

  iterator begin() const { return iterator(begin_, end_, name_); }
  iterator end() const { return iterator(end_, end_, name_); }
  bool empty() const { return begin() == end(); }

 private:
  friend class HeaderMap;
  Values(const_iterator begin, const_iterator end, std::string_view name)
      : begin_(begin), end_(end), name_(name) {}

  const_iterator begin_;
  const_iterator end_;
  std::string_view name_;
};

inline HeaderMap::Values HeaderMap::values(std::string_view name) const {
  return Values(entries_.begin(), entries_.end(), name);
}

inline HeaderMap::Values HeaderMap::values(const HeaderName& name) const {
  return values(name.as_str());
}

}  // namespace weft::http
