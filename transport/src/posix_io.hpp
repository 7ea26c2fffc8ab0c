// posix_io: the system-call helpers the adapters share (owned descriptors, polling with a
// deadline, complete writes, TCP connect and listen). Private to otr::transport.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "otr/base/fd.hpp"

namespace otr::transport::detail {

using Clock = std::chrono::steady_clock;

using otr::errno_text;
using otr::Fd;

// host_port returns "host:port", with IPv6 literals in brackets: "[::1]:6667".
std::string host_port(std::string_view host, std::uint16_t port);

// sockaddr_text returns the numeric "address:port" of |addr|.
std::string sockaddr_text(const sockaddr* addr, socklen_t len);

// set_nonblocking puts |fd| in non-blocking mode. Throws TransportError naming |what|.
void set_nonblocking(int fd, std::string_view what);

// poll_one waits until |fd| reports one of |events| or |deadline| passes, retrying on EINTR.
// Returns the revents (0 on timeout). Throws TransportError naming |what| if poll() fails.
short poll_one(int fd, short events, Clock::time_point deadline, std::string_view what);

// write_all writes every byte of |data| to |fd|, waiting with poll() while the descriptor would
// block; other descriptors than sockets are written at most PIPE_BUF bytes at a time after
// POLLOUT, so a blocking pipe cannot outlast |deadline|. Sockets are written with MSG_NOSIGNAL; for other descriptors SIGPIPE is blocked for the
// calling thread during the write and a SIGPIPE it caused is discarded, so a vanished reader is
// an error, not the end of the process. Throws TransportError "write to <what>: <reason>" on
// failure or "... timed out" once |deadline| passes.
void write_all(int fd, bool is_socket, std::string_view data, Clock::time_point deadline,
               std::string_view what);

// connect_tcp resolves |host| (IPv4 or IPv6, numeric or a name) and connects to the first address
// that accepts, each attempt bounded by |deadline|. On success |peer| receives the numeric
// address. The socket is non-blocking and close-on-exec. Throws TransportError, e.g. "connect to
// 127.0.0.1:5999: Connection refused" or "resolve no.such.host: Name or service not known".
Fd connect_tcp(std::string_view host, std::uint16_t port, Clock::time_point deadline,
               std::string* peer);

}  // namespace otr::transport::detail
