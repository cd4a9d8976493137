// ItemStore: the in-memory key-value store behind examples/hello's JSON API. Thread-safe (the
// handlers run on every worker at once); each value is kept as its serialised JSON text.
//
//   ItemStore store;
//   bool created = store.put("greeting", R"("hello")");   // true: new key
//   std::optional<std::string> v = store.get("greeting");  // R"("hello")"
//   store.erase("greeting");                                // false if it was not there
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hello {

class ItemStore {
 public:
  std::optional<std::string> get(std::string_view key) const {
    std::shared_lock lock(mu_);
    auto it = items_.find(key);
    if (it == items_.end()) return std::nullopt;
    return it->second;
  }
  // Inserts or replaces; true when the key is new.
  bool put(std::string key, std::string json_value) {
    std::unique_lock lock(mu_);
    auto [it, inserted] = items_.insert_or_assign(std::move(key), std::move(json_value));
    return inserted;
  }
  bool erase(std::string_view key) {
    std::unique_lock lock(mu_);
    auto it = items_.find(key);
    if (it == items_.end()) return false;
    items_.erase(it);
    return true;
  }
  // Every item, ordered by key.
  std::vector<std::pair<std::string, std::string>> list() const {
    std::shared_lock lock(mu_);
    return {items_.begin(), items_.end()};
  }

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, std::string, std::less<>> items_;
};

}  // namespace hello
