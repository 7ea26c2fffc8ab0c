#include "otr/transport/tcp_transport.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "line_stream.hpp"
#include "posix_io.hpp"

namespace otr::transport {

using detail::Clock;
using detail::errno_text;
using detail::Fd;

std::unique_ptr<TcpTransport> TcpTransport::connect(std::string_view host, std::uint16_t port,
                                                    const StreamOptions& options) {
  std::string peer;
  Fd sock = detail::connect_tcp(host, port, Clock::now() + options.connect_timeout, &peer);
  return std::unique_ptr<TcpTransport>(new TcpTransport(sock.release(), peer, options));
}

TcpListener TcpTransport::listen(std::string_view host, std::uint16_t port,
                                 const StreamOptions& options) {
  bool any = host.empty() || host == "*";
  std::string host_text(host);
  std::string where = "listen on " + (any ? std::string("*") : detail::host_port(host, port));

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  std::string port_text = std::to_string(port);
  int rc = getaddrinfo(any ? nullptr : host_text.c_str(), port_text.c_str(), &hints, &found);
  if (rc != 0) {
    throw TransportError(where + ": " +
                         (rc == EAI_SYSTEM ? errno_text(errno) : std::string(gai_strerror(rc))));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, &freeaddrinfo);

  std::string last_error = "no address found";
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    Fd sock(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                     ai->ai_protocol));
    if (!sock) {
      last_error = errno_text(errno);
      continue;
    }
    int one = 1;
    setsockopt(sock.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(sock.get(), ai->ai_addr, ai->ai_addrlen) < 0 || ::listen(sock.get(), 1) < 0) {
      last_error = errno_text(errno);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    if (getsockname(sock.get(), reinterpret_cast<sockaddr*>(&bound), &len) < 0) {
      last_error = errno_text(errno);
      continue;
    }
    std::uint16_t bound_port = bound.ss_family == AF_INET6
                                   ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                   : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    std::string address = detail::sockaddr_text(reinterpret_cast<sockaddr*>(&bound), len);
    return TcpListener(sock.release(), bound_port, address, options);
  }
  throw TransportError(where + ": " + last_error);
}

TcpTransport::TcpTransport(int socket, std::string peer, const StreamOptions& options)
    : m_socket(socket), m_peer(std::move(peer)) {
  m_stream = std::make_unique<detail::LineStream>(
      m_socket, m_socket, /*is_socket=*/true, m_peer,
      "peer " + m_peer + " closed the connection", options.max_line_bytes,
      options.write_timeout);
}

TcpTransport::~TcpTransport() { close(); }

void TcpTransport::send(std::string_view message) {
  try {
    m_stream->send(message);
  } catch (const TransportError&) {
    close();
    throw;
  }
}

std::vector<std::string> TcpTransport::read_available() {
  auto messages = m_stream->read_available();
  if (m_stream->closed()) {
    close();
  }
  return messages;
}

std::vector<TransportEvent> TcpTransport::take_events() { return m_stream->take_events(); }

int TcpTransport::native_handle() const { return m_socket; }

std::size_t TcpTransport::max_message_size() const { return m_stream->max_message_size(); }

bool TcpTransport::closed() const { return m_stream->closed(); }

void TcpTransport::close() {
  m_stream->mark_closed();
  if (m_socket >= 0) {
    ::close(m_socket);
    m_socket = -1;
  }
}

TcpListener::TcpListener(int socket, std::uint16_t port, std::string address,
                         const StreamOptions& options)
    : m_socket(socket), m_port(port), m_address(std::move(address)), m_options(options) {}

TcpListener::TcpListener(TcpListener&& other) noexcept
    : m_socket(std::exchange(other.m_socket, -1)),
      m_port(other.m_port),
      m_address(std::move(other.m_address)),
      m_options(other.m_options) {}

TcpListener& TcpListener::operator=(TcpListener&& other) noexcept {
  if (this != &other) {
    if (m_socket >= 0) {
      ::close(m_socket);
    }
    m_socket = std::exchange(other.m_socket, -1);
    m_port = other.m_port;
    m_address = std::move(other.m_address);
    m_options = other.m_options;
  }
  return *this;
}

TcpListener::~TcpListener() {
  if (m_socket >= 0) {
    ::close(m_socket);
  }
}

std::unique_ptr<TcpTransport> TcpListener::accept(
    std::optional<std::chrono::milliseconds> timeout) {
  if (m_socket < 0) {
    throw TransportError("accept on " + m_address + ": the listener was moved from");
  }
  auto deadline = timeout ? Clock::now() + *timeout : Clock::time_point::max();
  for (;;) {
    short revents = detail::poll_one(m_socket, POLLIN, deadline, m_address);
    if (revents == 0) {
      return nullptr;
    }
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    int fd = ::accept4(m_socket, reinterpret_cast<sockaddr*>(&peer), &len,
                       SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
      std::string peer_text = detail::sockaddr_text(reinterpret_cast<sockaddr*>(&peer), len);
      return std::unique_ptr<TcpTransport>(new TcpTransport(fd, peer_text, m_options));
    }
    int err = errno;
    // The peer may have given up between poll() and accept(); keep waiting for another.
    if (err == EINTR || err == EAGAIN || err == EWOULDBLOCK || err == ECONNABORTED) {
      continue;
    }
    throw TransportError("accept on " + m_address + ": " + errno_text(err));
  }
}

}  // namespace otr::transport
