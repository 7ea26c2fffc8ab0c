#include "posix_io.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "otr/transport/transport.hpp"

namespace otr::transport::detail {

std::string host_port(std::string_view host, std::uint16_t port) {
  std::string out;
  if (host.find(':') != std::string_view::npos) {
    out = "[" + std::string(host) + "]";
  } else {
    out = std::string(host);
  }
  return out + ":" + std::to_string(port);
}

std::string sockaddr_text(const sockaddr* addr, socklen_t len) {
  char host[NI_MAXHOST];
  char serv[NI_MAXSERV];
  if (getnameinfo(addr, len, host, sizeof host, serv, sizeof serv,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return "(unknown address)";
  }
  return host_port(host, static_cast<std::uint16_t>(std::stoul(serv)));
}

void set_nonblocking(int fd, std::string_view what) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    throw TransportError(std::string(what) + ": cannot make non-blocking: " + errno_text(errno));
  }
}

namespace {

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) {
    return 0;
  }
  return left > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(left);
}

// SigpipeBlock keeps SIGPIPE from killing the process while it writes to a pipe whose reader may
// be gone. The signal is thread-directed, so blocking it here and consuming a pending one is
// enough; the caller's mask is restored afterwards.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&m_pipe);
    sigaddset(&m_pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &m_pipe, &m_old);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    m_was_pending = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeBlock() {
    if (m_caused && !m_was_pending) {
      timespec zero{};
      while (sigtimedwait(&m_pipe, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

  void caused() { m_caused = true; }

 private:
  sigset_t m_pipe{};
  sigset_t m_old{};
  bool m_was_pending = false;
  bool m_caused = false;
};

}  // namespace

short poll_one(int fd, short events, Clock::time_point deadline, std::string_view what) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) {
      return p.revents;
    }
    if (n == 0) {
      return 0;
    }
    if (errno != EINTR) {
      throw TransportError("poll " + std::string(what) + ": " + errno_text(errno));
    }
  }
}

void write_all(int fd, bool is_socket, std::string_view data, Clock::time_point deadline,
               std::string_view what) {
  std::optional<SigpipeBlock> sigpipe;
  if (!is_socket) {
    sigpipe.emplace();
  }
  while (!data.empty()) {
    ssize_t n;
    if (is_socket) {
      n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    } else {
      // A borrowed descriptor may be blocking, and a blocking write of more than PIPE_BUF bytes
      // can wait forever for a reader. Waiting for POLLOUT first and writing at most PIPE_BUF
      // bytes keeps the deadline meaningful for pipes.
      short revents = poll_one(fd, POLLOUT, deadline, what);
      if (revents == 0) {
        throw TransportError("write to " + std::string(what) + ": timed out with " +
                             std::to_string(data.size()) + " bytes unsent");
      }
      n = ::write(fd, data.data(), std::min<std::size_t>(data.size(), PIPE_BUF));
    }
    if (n >= 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    int err = errno;
    if (err == EINTR) {
      continue;
    }
    if (err == EAGAIN || err == EWOULDBLOCK) {
      short revents = poll_one(fd, POLLOUT, deadline, what);
      if (revents == 0) {
        throw TransportError("write to " + std::string(what) + ": timed out with " +
                             std::to_string(data.size()) + " bytes unsent");
      }
      continue;  // POLLERR/POLLHUP: the next write reports the reason
    }
    if (err == EPIPE && sigpipe) {
      sigpipe->caused();
    }
    throw TransportError("write to " + std::string(what) + ": " + errno_text(err));
  }
}

Fd connect_tcp(std::string_view host, std::uint16_t port, Clock::time_point deadline,
               std::string* peer) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string host_text(host);
  std::string port_text = std::to_string(port);
  int rc = getaddrinfo(host_text.c_str(), port_text.c_str(), &hints, &found);
  if (rc != 0) {
    throw TransportError("resolve " + host_text + ": " +
                         (rc == EAI_SYSTEM ? errno_text(errno) : std::string(gai_strerror(rc))));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, &freeaddrinfo);

  // Each failure is remembered with its address; if all addresses fail for the same reason the
  // message gives that reason once, otherwise it lists every attempt.
  std::vector<std::pair<std::string, std::string>> failures;
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    std::string address = sockaddr_text(ai->ai_addr, ai->ai_addrlen);
    Fd sock(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                     ai->ai_protocol));
    if (!sock) {
      failures.emplace_back(address, errno_text(errno));
      continue;
    }
    int err = 0;
    if (::connect(sock.get(), ai->ai_addr, ai->ai_addrlen) < 0) {
      err = errno;
      if (err == EINPROGRESS || err == EINTR) {
        short revents = poll_one(sock.get(), POLLOUT, deadline, address);
        if (revents == 0) {
          failures.emplace_back(address, "timed out");
          continue;
        }
        socklen_t len = sizeof err;
        if (getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
          err = errno;
        }
      }
    }
    if (err != 0) {
      failures.emplace_back(address, errno_text(err));
      continue;
    }
    if (peer != nullptr) {
      *peer = address;
    }
    return sock;
  }

  std::string message = "connect to " + host_port(host, port) + ": ";
  bool same = true;
  for (const auto& f : failures) {
    same = same && f.second == failures.front().second;
  }
  if (failures.empty()) {
    message += "no address found";
  } else if (same) {
    message += failures.front().second;
    if (failures.size() > 1 || failures.front().first != host_port(host, port)) {
      message += " (tried";
      for (const auto& f : failures) {
        message += " " + f.first;
      }
      message += ")";
    }
  } else {
    for (std::size_t i = 0; i < failures.size(); ++i) {
      message += (i == 0 ? "" : "; ") + failures[i].first + ": " + failures[i].second;
    }
  }
  throw TransportError(message);
}

}  // namespace otr::transport::detail
