// AsyncRead / AsyncWrite: the I/O contract every weft byte stream follows (TcpStream,
// UnixStream, io::DuplexStream, BufReader, ...), as tokio::io::AsyncRead / AsyncWrite.
//
//   absl::StatusOr<size_t> n = co_await s.read(std::span<char>(buf));         // 0: EOF
//   absl::StatusOr<size_t> w = co_await s.write(std::span<const char>(data)); // may be partial
//   absl::StatusOr<size_t> v = co_await s.writev(std::span<const iovec>(iov)); // optional
//   absl::Status st = co_await s.shutdown_write();                            // optional
//
// The concepts below check those shapes; the generic algorithms (read_write.h) take any type
// that models them, and `assert_async_read<S>()` & co. give a readable compiler error when a
// type does not.
//
// Contract for implementations (what the algorithms rely on):
//   * read of an empty span completes at once with 0; otherwise 0 means end of stream.
//   * write may write fewer bytes than given; 0 only for an empty span.
//   * A stream is read by one task at a time and written by one task at a time (Tokio's
//     `&mut self`); reading and writing concurrently from two tasks is allowed.
//   * Cancel-safety: destroying a suspended `read` / `write` awaiter (task abort) must leave the
//     stream consistent: no byte consumed by a read that never returned, nothing written by a
//     write that never returned. Every weft stream documents this in its header.
#pragma once

#include <sys/uio.h>

#include <concepts>
#include <cstddef>
#include <span>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace weft::io {

namespace detail {

// The awaiter `co_await a` uses: a.operator co_await(), operator co_await(a), or a itself.
template <class A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (requires { std::forward<A>(a).operator co_await(); }) {
    return std::forward<A>(a).operator co_await();
  } else if constexpr (requires { operator co_await(std::forward<A>(a)); }) {
    return operator co_await(std::forward<A>(a));
  } else {
    return std::forward<A>(a);
  }
}

template <class A>
using awaiter_t = decltype(get_awaiter(std::declval<A>()));

// What `co_await a` gives, for an awaitable (prvalue) of type A.
template <class A>
concept Awaitable = requires(std::remove_reference_t<awaiter_t<A>>& w) {
  { w.await_ready() } -> std::convertible_to<bool>;
  w.await_resume();
};

template <Awaitable A>
using await_result_t =
    decltype(std::declval<std::remove_reference_t<awaiter_t<A>>&>().await_resume());

// `co_await a` is valid and gives something convertible to R.
template <class A, class R>
concept AwaitableOf = Awaitable<A> && std::convertible_to<await_result_t<A>, R>;

}  // namespace detail

// `co_await s.read(std::span<char>)` gives absl::StatusOr<size_t> (0 = EOF).
template <class S>
concept AsyncRead = requires(S& s, std::span<char> buf) {
  { s.read(buf) } -> detail::AwaitableOf<absl::StatusOr<std::size_t>>;
};

// `co_await s.write(std::span<const char>)` gives absl::StatusOr<size_t> (may be partial).
template <class S>
concept AsyncWrite = requires(S& s, std::span<const char> buf) {
  { s.write(buf) } -> detail::AwaitableOf<absl::StatusOr<std::size_t>>;
};

// AsyncWrite plus `co_await s.writev(std::span<const iovec>)` -> absl::StatusOr<size_t>.
template <class S>
concept AsyncWriteVectored = AsyncWrite<S> && requires(S& s, std::span<const iovec> iov) {
  { s.writev(iov) } -> detail::AwaitableOf<absl::StatusOr<std::size_t>>;
};

// Optional: `co_await s.shutdown_write()` -> absl::Status (half-close: the peer reads EOF).
template <class S>
concept AsyncShutdown = requires(S& s) {
  { s.shutdown_write() } -> detail::AwaitableOf<absl::Status>;
};

// Optional: `co_await s.flush()` -> absl::Status (buffered writers such as BufWriter).
template <class S>
concept AsyncFlush = requires(S& s) {
  { s.flush() } -> detail::AwaitableOf<absl::Status>;
};

// `static_assert(assert_async_read<S>())`-style checks with a message that says what is missing,
// instead of a page of unsatisfied-constraint notes.
template <class S>
constexpr bool assert_async_read() {
  static_assert(AsyncRead<S>,
                "weft::io: this stream type is not AsyncRead: it needs a member "
                "`read(std::span<char>)` whose co_await gives absl::StatusOr<size_t> (0 = EOF)");
  return AsyncRead<S>;
}
template <class S>
constexpr bool assert_async_write() {
  static_assert(AsyncWrite<S>,
                "weft::io: this stream type is not AsyncWrite: it needs a member "
                "`write(std::span<const char>)` whose co_await gives absl::StatusOr<size_t>");
  return AsyncWrite<S>;
}

}  // namespace weft::io
