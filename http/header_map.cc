#include "weft/http/header_map.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "weft/http/detail/chars.h"

namespace weft::http {
namespace {

// Both lookups (string_view ignoring case, HeaderName exactly) share these through `Key`.
template <class Entries, class Key>
auto find_first(Entries& entries, const Key& name) {
  auto it = entries.begin();
  while (it != entries.end() && !(it->name == name)) ++it;
  return it;
}

template <class Entries, class Key>
std::vector<std::string_view> collect(const Entries& entries, const Key& name) {
  std::vector<std::string_view> out;
  for (const auto& e : entries) {
    if (e.name == name) out.push_back(e.value.as_str());
  }
  return out;
}

// Erases the entries named `name` in [from, end), keeping the others in order; returns how
// many. Moves each survivor at most once and never onto itself.
template <class Entries, class Key>
size_t erase_from(Entries& entries, typename Entries::iterator from, const Key& name) {
  auto out = from;
  while (out != entries.end() && !(out->name == name)) ++out;
  if (out == entries.end()) return 0;
  for (auto in = out + 1; in != entries.end(); ++in) {
    if (!(in->name == name)) *out++ = std::move(*in);
  }
  size_t removed = entries.end() - out;
  entries.erase(out, entries.end());
  return removed;
}

absl::Status with_name(const absl::Status& s, std::string_view name) {
  return absl::Status(s.code(), absl::StrCat("header ", detail::to_absl(name), ": ", s.message()));
}

}  // namespace

namespace detail {
struct HeaderAccess {
  // Appends `name: value` to `entries`, parsed in place (no status, no moves of the parsed
  // bytes: the HTTP/1 parser adds every request header this way); nothing when either is
  // invalid, and the reason.
  static absl::Status append(std::vector<HeaderMap::Entry>& entries, std::string_view name,
                             std::string_view value) {
    HeaderMap::Entry& e = entries.emplace_back(HeaderMap::Entry{HeaderName(), HeaderValue()});
    bool valid = false;
    try {
      valid = e.name.assign(name) && e.value.assign(value);
    } catch (...) {  // a long name or value that could not be allocated: no half-made entry
      entries.pop_back();
      throw;
    }
    if (valid) return absl::OkStatus();
    entries.pop_back();
    absl::StatusOr<HeaderName> n = HeaderName::parse(name);
    if (!n.ok()) return n.status();
    return with_name(HeaderValue::parse(value).status(), n->as_str());
  }
};
}  // namespace detail

const HeaderValue* HeaderMap::get(std::string_view name) const {
  auto it = find_first(entries_, name);
  return it == entries_.end() ? nullptr : &it->value;
}

const HeaderValue* HeaderMap::get(const HeaderName& name) const {
  auto it = find_first(entries_, name);
  return it == entries_.end() ? nullptr : &it->value;
}

std::vector<std::string_view> HeaderMap::get_all(std::string_view name) const {
  return collect(entries_, name);
}

std::vector<std::string_view> HeaderMap::get_all(const HeaderName& name) const {
  return collect(entries_, name);
}

void HeaderMap::append(HeaderName name, HeaderValue value) {
  entries_.push_back(Entry{std::move(name), std::move(value)});
}

void HeaderMap::insert(HeaderName name, HeaderValue value) {
  auto first = find_first(entries_, name);
  if (first == entries_.end()) {
    entries_.push_back(Entry{std::move(name), std::move(value)});
    return;
  }
  first->value = std::move(value);
  erase_from(entries_, first + 1, first->name);  // `first` itself is never moved
}

size_t HeaderMap::remove(std::string_view name) {
  return erase_from(entries_, entries_.begin(), name);
}

size_t HeaderMap::remove(const HeaderName& name) {
  return erase_from(entries_, entries_.begin(), name);
}

absl::Status HeaderMap::append(std::string_view name, std::string_view value) {
  return detail::HeaderAccess::append(entries_, name, value);
}

absl::Status HeaderMap::insert(std::string_view name, std::string_view value) {
  absl::StatusOr<HeaderName> n = HeaderName::parse(name);
  if (!n.ok()) return n.status();
  return insert(*std::move(n), value);
}

absl::Status HeaderMap::append(HeaderName name, std::string_view value) {
  absl::StatusOr<HeaderValue> v = HeaderValue::parse(value);
  if (!v.ok()) return with_name(v.status(), name.as_str());
  append(std::move(name), *std::move(v));
  return absl::OkStatus();
}

absl::Status HeaderMap::insert(HeaderName name, std::string_view value) {
  absl::StatusOr<HeaderValue> v = HeaderValue::parse(value);
  if (!v.ok()) return with_name(v.status(), name.as_str());
  insert(std::move(name), *std::move(v));
  return absl::OkStatus();
}

}  // namespace weft::http
