// BufReader<S>: adds a read buffer to any AsyncRead stream, for line- and delimiter-oriented
// protocols and for many small reads (tokio::io::BufReader + AsyncBufReadExt).
//
//   weft::io::BufReader<weft::net::TcpStream> r(std::move(stream));
//   std::string line;
//   absl::StatusOr<size_t> n = co_await r.read_line(line, 8192);  // appends, '\n' included
//   if (n.ok() && *n == 0) { /* EOF */ }
//   absl::StatusOr<std::span<const char>> avail = co_await r.fill_buf();  // peek
//   r.consume(avail->size());
//
// BufReader<S> is itself AsyncRead (and AsyncWrite, passing writes straight through, when S
// is), so read_exact / read_to_end / copy work on it. A read at least as large as the buffer
// that finds the buffer empty goes straight to the stream (no copy).
//
// Lifetime: the BufReader and the caller's buffers / strings must outlive each await (await the
// returned Task at once). One reader at a time.
//
// Cancel-safety (task aborted while suspended):
//   read, fill_buf      cancel-safe: nothing is consumed (the inner read is cancel-safe, and
//                       bytes it delivered are kept in the buffer).
//   read_until, read_line  cancel-safe as Tokio's: the bytes consumed so far are already
//                       appended to `out`; calling again continues the line.
//   write, writev, shutdown_write  as the inner stream's.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "weft/runtime/io/async_io.h"
#include "weft/runtime/task/task.h"

namespace weft::io {

// 8 KiB as Tokio's default: a typical HTTP header block fits, per-connection memory stays small.
inline constexpr std::size_t kDefaultBufSize = 8 * 1024;

template <class S>
class BufReader {
  static_assert(assert_async_read<S>());

 public:
  explicit BufReader(S inner, std::size_t capacity = kDefaultBufSize)
      : inner_(std::move(inner)), cap_(std::max<std::size_t>(capacity, 1)), buf_(new char[cap_]) {}
  BufReader(BufReader&&) noexcept = default;
  BufReader& operator=(BufReader&&) noexcept = default;

  S& get_ref() { return inner_; }
  const S& get_ref() const { return inner_; }
  // The stream back; anything still buffered is dropped (take it with buffer() first).
  S into_inner() && { return std::move(inner_); }
  // The bytes read from the stream but not yet consumed.
  std::span<const char> buffer() const { return {buf_.get() + pos_, filled_ - pos_}; }
  std::size_t capacity() const { return cap_; }

  Task<absl::StatusOr<std::size_t>> read(std::span<char> out) {
    if (out.empty()) co_return 0;
    if (pos_ == filled_ && out.size() >= cap_) {
      absl::StatusOr<std::size_t> n = co_await inner_.read(out);  // bypass the buffer
      co_return n;
    }
    if (pos_ == filled_) {
      absl::Status st = co_await fill();
      if (!st.ok()) co_return st;
    }
    std::size_t n = std::min(out.size(), filled_ - pos_);
    if (n > 0) std::memcpy(out.data(), buf_.get() + pos_, n);
    consume(n);
    co_return n;
  }

  // The buffered bytes, reading from the stream first if there are none. Empty: EOF.
  Task<absl::StatusOr<std::span<const char>>> fill_buf() {
    if (pos_ == filled_) {
      absl::Status st = co_await fill();
      if (!st.ok()) co_return st;
    }
    co_return buffer();
  }
  // Marks n bytes of what fill_buf() returned as used.
  void consume(std::size_t n) {
    pos_ = std::min(pos_ + n, filled_);
    if (pos_ == filled_) pos_ = filled_ = 0;
  }

  // Appends bytes to `out` up to and including `delim`, or up to EOF. Returns how many bytes
  // were appended (0: EOF). RESOURCE_EXHAUSTED once `limit` bytes were appended without finding
  // `delim` (those bytes stay in `out` and are consumed from the stream).
  Task<absl::StatusOr<std::size_t>> read_until(char delim, std::string& out, std::size_t limit) {
    std::size_t appended = 0;
    for (;;) {
      if (pos_ == filled_) {
        absl::Status st = co_await fill();
        if (!st.ok()) co_return st;
        if (filled_ == 0) co_return appended;  // EOF
      }
      const char* begin = buf_.get() + pos_;
      std::size_t avail = filled_ - pos_;
      std::size_t room = limit - appended;
      const char* hit = static_cast<const char*>(std::memchr(begin, delim, std::min(avail, room)));
      std::size_t take =
          hit != nullptr ? static_cast<std::size_t>(hit - begin) + 1 : std::min(avail, room);
      out.append(begin, take);
      consume(take);
      appended += take;
      if (hit != nullptr) co_return appended;
      if (appended >= limit) {
        co_return absl::ResourceExhaustedError(
            absl::StrCat("read_until: no delimiter within ", limit, " bytes"));
      }
    }
  }
  // read_until('\n', ...): the line keeps its "\n" (and a "\r" before it, if any).
  Task<absl::StatusOr<std::size_t>> read_line(std::string& out, std::size_t limit) {
    return read_until('\n', out, limit);
  }

  // Writes pass through to the inner stream (a BufReader over a socket stays a full stream).
  auto write(std::span<const char> buf) requires AsyncWrite<S> { return inner_.write(buf); }
  auto writev(std::span<const iovec> iov) requires AsyncWriteVectored<S> {
    return inner_.writev(iov);
  }
  auto shutdown_write() requires AsyncShutdown<S> { return inner_.shutdown_write(); }

 private:
  // Reads once into the (empty) buffer.
  Task<absl::Status> fill() {
    absl::StatusOr<std::size_t> n = co_await inner_.read(std::span<char>(buf_.get(), cap_));
    if (!n.ok()) co_return n.status();
    pos_ = 0;
    filled_ = *n;
    co_return absl::OkStatus();
  }

  S inner_;
  std::size_t cap_;
  std::unique_ptr<char[]> buf_;
  std::size_t pos_ = 0;     // next unread byte
  std::size_t filled_ = 0;  // end of the valid bytes
};

}  // namespace weft::io
