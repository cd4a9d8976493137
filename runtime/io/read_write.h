// Generic I/O algorithms over any AsyncRead / AsyncWrite stream (tokio::io::AsyncReadExt /
// AsyncWriteExt and tokio::io::copy / copy_bidirectional).
//
//   char header[8];
//   absl::Status st = co_await weft::io::read_exact(stream, header);        // OUT_OF_RANGE on EOF
//   absl::StatusOr<std::string> body = co_await weft::io::read_to_end(stream, 1 << 20);
//   st = co_await weft::io::write_all(stream, std::span<const char>(reply));
//   absl::StatusOr<uint64_t> n = co_await weft::io::copy(file_like, socket);
//   auto both = co_await weft::io::copy_bidirectional(client, upstream);  // {a->b, b->a}
//
// Lifetime contract (as Tokio's `&mut` arguments): the streams and buffers are taken by
// reference, and a coroutine's reference parameters dangle once it suspends unless the caller
// keeps the objects alive. So await the returned Task immediately, in the scope that owns the
// stream and the buffer (`co_await read_exact(s, buf)`); never store the Task or spawn it.
//
// Cancel-safety (a task aborted while one of these is suspended):
//   read_exact    NOT cancel-safe: bytes read so far are lost (they are in `buf`, but the caller
//                 cannot know how many).
//   read_to_end   NOT cancel-safe: the bytes read so far are lost.
//   write_all     NOT cancel-safe: an unknown prefix may have been written.
//   copy          NOT cancel-safe: a chunk read but not yet written is lost.
//   copy_bidirectional: cancel-safe for the streams (its child tasks are cancelled with it);
//                 bytes in flight are lost, as with copy.
// Each is safe in the weaker sense every weft awaiter guarantees: the streams stay usable and
// no waker is left registered.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "weft/runtime/io/async_io.h"
#include "weft/runtime/runtime.h"
#include "weft/runtime/task/race.h"
#include "weft/runtime/task/task.h"
#include "weft/runtime/task/waker.h"

namespace weft::io {

// Chunk size of copy(): Tokio's (8 KiB): big enough that a syscall moves a useful amount, small
// enough to live per connection.
inline constexpr std::size_t kCopyBufSize = 8 * 1024;

// Fills `buf` completely. OUT_OF_RANGE "early eof" if the stream ends first; the stream's error
// otherwise.
template <class S>
Task<absl::Status> read_exact(S& s, std::span<char> buf) {
  static_assert(assert_async_read<S>());
  std::size_t got = 0;
  while (got < buf.size()) {
    absl::StatusOr<std::size_t> n = co_await s.read(buf.subspan(got));
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return absl::OutOfRangeError("early eof");
    got += *n;
  }
  co_return absl::OkStatus();
}

// Reads until EOF. RESOURCE_EXHAUSTED if the stream holds more than `limit` bytes (it reads at
// most limit + 1 bytes to find out).
template <class S>
Task<absl::StatusOr<std::string>> read_to_end(S& s, std::size_t limit) {
  static_assert(assert_async_read<S>());
  std::string out;
  // At most limit + 1 bytes are ever asked for (saturating).
  const std::size_t cap = limit == SIZE_MAX ? SIZE_MAX : limit + 1;
  std::size_t chunk = 1024;  // grows geometrically: few reads for big bodies, small for small
  for (;;) {
    std::size_t want = std::min(chunk, cap - out.size());
    std::size_t old = out.size();
    out.resize(old + want);
    absl::StatusOr<std::size_t> n = co_await s.read(std::span<char>(out.data() + old, want));
    if (!n.ok()) co_return n.status();
    out.resize(old + *n);
    if (*n == 0) co_return std::move(out);
    if (out.size() > limit) {
      co_return absl::ResourceExhaustedError(
          absl::StrCat("read_to_end: stream longer than the limit of ", limit, " bytes"));
    }
    if (*n == want) chunk = std::min<std::size_t>(chunk * 2, 1 << 20);
  }
}

// Writes all of `buf`. UNAVAILABLE "write zero" if the stream accepts nothing (Tokio's
// ErrorKind::WriteZero); the stream's error otherwise.
template <class S>
Task<absl::Status> write_all(S& s, std::span<const char> buf) {
  static_assert(assert_async_write<S>());
  std::size_t done = 0;
  while (done < buf.size()) {
    absl::StatusOr<std::size_t> n = co_await s.write(buf.subspan(done));
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return absl::UnavailableError("write zero: the stream accepted no bytes");
    done += *n;
  }
  co_return absl::OkStatus();
}

// Copies `r` to `w` until EOF on `r`, then flushes `w` if it has flush(). Returns the number of
// bytes copied. One kCopyBufSize buffer per call.
template <class R, class W>
Task<absl::StatusOr<uint64_t>> copy(R& r, W& w) {
  static_assert(assert_async_read<R>());
  static_assert(assert_async_write<W>());
  std::unique_ptr<char[]> buf(new char[kCopyBufSize]);
  uint64_t total = 0;
  for (;;) {
    absl::StatusOr<std::size_t> n = co_await r.read(std::span<char>(buf.get(), kCopyBufSize));
    if (!n.ok()) co_return n.status();
    if (*n == 0) break;
    std::size_t done = 0;
    while (done < *n) {
      absl::StatusOr<std::size_t> m =
          co_await w.write(std::span<const char>(buf.get() + done, *n - done));
      if (!m.ok()) co_return m.status();
      if (*m == 0) co_return absl::UnavailableError("write zero: the stream accepted no bytes");
      done += *m;
    }
    total += *n;
  }
  if constexpr (AsyncFlush<W>) {
    absl::Status st = co_await w.flush();
    if (!st.ok()) co_return st;
  }
  co_return total;
}

namespace detail {

// One direction of copy_bidirectional, as its own task: copy, then half-close the writer so its
// peer sees EOF (when the stream supports it).
template <class R, class W>
Task<absl::StatusOr<uint64_t>> copy_one_way(R* r, W* w) {
  absl::StatusOr<uint64_t> n = co_await copy(*r, *w);
  if (!n.ok()) co_return n;
  if constexpr (AsyncShutdown<W>) {
    absl::Status st = co_await w->shutdown_write();
    if (!st.ok()) co_return st;
  }
  co_return n;
}

inline absl::Status join_status(const absl::StatusOr<absl::StatusOr<uint64_t>>& r) {
  if (!r.ok()) return r.status();
  return r->status();
}

}  // namespace detail

// Copies a -> b and b -> a at the same time until both directions reach EOF (Tokio's
// copy_bidirectional). When one direction reaches EOF, its writer gets shutdown_write() (if the
// type has it) so the peer sees the half-close, and the other direction keeps going. Returns
// {bytes a->b, bytes b->a}; if a direction fails, the other is cancelled and the first error is
// returned.
//
// Each direction runs as a child task holding pointers to `a` and `b`. Cancel-safety: if the
// awaiting task is cancelled (or returns early), both children are cancelled synchronously
// (their destructors have run before copy_bidirectional's frame is gone), so `a` and `b` are
// never used after the call ends. Must run inside a weft runtime.
template <class A, class B>
Task<absl::StatusOr<std::pair<uint64_t, uint64_t>>> copy_bidirectional(A& a, B& b) {
  static_assert(assert_async_read<A>());
  static_assert(assert_async_write<A>());
  static_assert(assert_async_read<B>());
  static_assert(assert_async_write<B>());
  JoinHandle<absl::StatusOr<uint64_t>> ab = weft::spawn(detail::copy_one_way(&a, &b));
  JoinHandle<absl::StatusOr<uint64_t>> ba = weft::spawn(detail::copy_one_way(&b, &a));
  weft::detail::AbortOnDrop<2> guard({ab.raw(), ba.raw()});
  {
    weft::detail::CompletionAwaiter wait_ab(ab.raw()), wait_ba(ba.raw());
    co_await weft::detail::AnyCompletion<2>{{&wait_ab, &wait_ba}};
  }
  // Join the one that finished first; on failure the guard cancels the other on return.
  bool ab_first = ab.is_finished();
  JoinHandle<absl::StatusOr<uint64_t>>& first = ab_first ? ab : ba;
  JoinHandle<absl::StatusOr<uint64_t>>& second = ab_first ? ba : ab;
  absl::StatusOr<absl::StatusOr<uint64_t>> r1 = co_await first;
  if (absl::Status st = detail::join_status(r1); !st.ok()) co_return st;
  absl::StatusOr<absl::StatusOr<uint64_t>> r2 = co_await second;
  guard.release();
  if (absl::Status st = detail::join_status(r2); !st.ok()) co_return st;
  uint64_t n1 = **r1;
  uint64_t n2 = **r2;
  co_return ab_first ? std::make_pair(n1, n2) : std::make_pair(n2, n1);
}

}  // namespace weft::io
