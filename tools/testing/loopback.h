// connect_loopback: a blocking TCP connection to 127.0.0.1:port, for tests that talk to a
// server from plain threads (no runtime).
//
//   int fd = weft::testing::connect_loopback(port);   // -1 on failure
//   ::send(fd, "ping", 4, MSG_NOSIGNAL);
//   ::close(fd);
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace weft::testing {

// -1 on failure. No Boost.Test macros: client threads call it.
inline int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace weft::testing
