// BufWriter<S>: collects small writes into one buffer and hands them to the stream in large
// writes (tokio::io::BufWriter).
//
//   weft::io::BufWriter<weft::net::TcpStream> w(std::move(stream));
//   co_await weft::io::write_all(w, std::span<const char>(header));  // buffered
//   co_await weft::io::write_all(w, std::span<const char>(body));
//   absl::Status st = co_await w.flush();                             // now on the wire
//
// A write that does not fit in the free space first flushes the buffer; a write at least as
// large as the buffer then goes straight to the stream. Nothing is written on destruction (no
// async destructors): call flush() (or shutdown_write(), which flushes first) before dropping
// it. BufWriter<S> is AsyncWrite (and AsyncRead, passing reads through, when S is).
//
// Cancel-safety (task aborted while suspended):
//   write     cancel-safe: if it is cancelled, `buf` was not accepted (retry it); buffered bytes
//             already handed to the stream are dropped from the buffer, never written twice.
//   flush     cancel-safe in the same sense: what was written is gone from the buffer, the rest
//             stays for the next flush.
//   shutdown_write  flush, then the stream's shutdown_write.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "weft/runtime/io/async_io.h"
#include "weft/runtime/io/buf_reader.h"
#include "weft/runtime/task/task.h"

namespace weft::io {

template <class S>
class BufWriter {
  static_assert(assert_async_write<S>());

 public:
  explicit BufWriter(S inner, std::size_t capacity = kDefaultBufSize)
      : inner_(std::move(inner)), cap_(std::max<std::size_t>(capacity, 1)), buf_(new char[cap_]) {}
  BufWriter(BufWriter&&) noexcept = default;
  BufWriter& operator=(BufWriter&&) noexcept = default;

  S& get_ref() { return inner_; }
  const S& get_ref() const { return inner_; }
  // The stream back; unflushed bytes are dropped (flush first).
  S into_inner() && { return std::move(inner_); }
  // Bytes accepted but not yet handed to the stream.
  std::span<const char> buffer() const { return {buf_.get() + start_, end_ - start_}; }
  std::size_t capacity() const { return cap_; }

  Task<absl::StatusOr<std::size_t>> write(std::span<const char> src) {
    if (end_ + src.size() > cap_) {
      absl::Status st = co_await flush_buf();
      if (!st.ok()) co_return st;
    }
    if (src.size() >= cap_) {
      absl::StatusOr<std::size_t> n = co_await inner_.write(src);  // straight through
      co_return n;
    }
    std::memcpy(buf_.get() + end_, src.data(), src.size());
    end_ += src.size();
    co_return src.size();
  }

  // Writes out the buffer, then flushes the stream if it has flush().
  Task<absl::Status> flush() {
    absl::Status st = co_await flush_buf();
    if (!st.ok()) co_return st;
    if constexpr (AsyncFlush<S>) {
      absl::Status inner = co_await inner_.flush();
      co_return inner;
    }
    co_return absl::OkStatus();
  }

  Task<absl::Status> shutdown_write() requires AsyncShutdown<S> {
    absl::Status st = co_await flush();
    if (!st.ok()) co_return st;
    absl::Status inner = co_await inner_.shutdown_write();
    co_return inner;
  }

  // Reads pass through to the inner stream.
  auto read(std::span<char> buf) requires AsyncRead<S> { return inner_.read(buf); }

 private:
  Task<absl::Status> flush_buf() {
    while (start_ < end_) {
      absl::StatusOr<std::size_t> n =
          co_await inner_.write(std::span<const char>(buf_.get() + start_, end_ - start_));
      if (!n.ok()) co_return n.status();
      if (*n == 0) co_return absl::UnavailableError("write zero: the stream accepted no bytes");
      start_ += *n;
    }
    start_ = end_ = 0;
    co_return absl::OkStatus();
  }

  S inner_;
  std::size_t cap_;
  std::unique_ptr<char[]> buf_;
  std::size_t start_ = 0;  // first byte not yet written to the stream
  std::size_t end_ = 0;    // end of the buffered bytes
};

}  // namespace weft::io
