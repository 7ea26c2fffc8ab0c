// IrcTransport: the socket around an IrcSession. It connects, reads without blocking, hands the
// bytes to the session, writes the lines the session returns and queues its messages and events
// for the caller; the IRC protocol itself is all in irc_session.cpp.
#include "otr/transport/irc_transport.hpp"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <utility>

#include "posix_io.hpp"

namespace otr::transport {

using detail::Clock;
using detail::errno_text;
using detail::Fd;

namespace {

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr int kMaxReadsPerCall = 16;

}  // namespace

class IrcTransport::Impl {
 public:
  // The session checks the options first, so bad options throw before any descriptor exists.
  explicit Impl(IrcOptions options)
      : m_session(options), m_timeout(options.timeout), m_write_timeout(options.write_timeout),
        m_host(std::move(options.host)), m_port(options.port) {
    m_epoll = Fd(epoll_create1(EPOLL_CLOEXEC));
    m_wakeup = Fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!m_epoll || !m_wakeup) {
      throw TransportError("IRC transport: cannot create epoll/eventfd: " + errno_text(errno));
    }
    watch(m_wakeup.get());
  }

  ~Impl() { close(); }

  void open();
  void send(std::string_view message) { send_lines(m_session.send(message)); }
  void send_to(std::string_view nick, std::string_view message) {
    send_lines(m_session.send_to(nick, message));
  }
  void change_nick(std::string_view nick) { send_lines(m_session.change_nick(nick)); }
  void say_in_channel(std::string_view text) { send_lines(m_session.say_in_channel(text)); }
  void notice_to(std::string_view nick, std::string_view text) {
    send_lines(m_session.notice_to(nick, text));
  }
  std::vector<std::string> read_available();
  std::vector<IrcMessage> read_messages();
  std::vector<IrcChannelEvent> read_channel();
  std::vector<TransportEvent> take_events();
  void close();

  std::size_t max_message_size() const { return m_session.max_message_size(); }
  int native_handle() const { return m_epoll.get(); }
  bool closed() const { return !m_socket; }
  const std::string& nick() const { return m_session.nick(); }
  const std::string& peer() const { return m_session.peer(); }
  const std::string& server_name() const { return m_session.server_name(); }
  std::size_t channel_message_size() const { return m_session.channel_message_size(); }
  std::vector<std::string> channel_nicks() const { return m_session.channel_nicks(); }

 private:
  void watch(int fd);
  void send_lines(IrcOutput lines);
  void apply(IrcOutput out);
  void flush(Clock::time_point deadline);
  void pump();
  void lost(IrcOutput closed_event);
  void update_wakeup();

  IrcSession m_session;
  std::chrono::milliseconds m_timeout;
  std::chrono::milliseconds m_write_timeout;
  std::string m_host;
  std::uint16_t m_port;
  Fd m_epoll;
  Fd m_wakeup;
  bool m_wakeup_set = false;
  Fd m_socket;
  std::string m_address;  // numeric address of the server, for texts
  std::string m_out;      // bytes queued for the socket, always whole lines
  bool m_flushing = false;
  std::vector<std::string> m_messages;
  std::vector<IrcMessage> m_from;
  std::vector<IrcChannelEvent> m_channel;
  std::vector<TransportEvent> m_events;
};

void IrcTransport::Impl::watch(int fd) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  if (epoll_ctl(m_epoll.get(), EPOLL_CTL_ADD, fd, &ev) < 0) {
    throw TransportError("IRC transport: epoll_ctl: " + errno_text(errno));
  }
}

void IrcTransport::Impl::apply(IrcOutput out) {
  for (const std::string& line : out.lines) {
    m_out += line;
  }
  for (std::string& m : out.messages) {
    m_messages.push_back(std::move(m));
  }
  for (IrcMessage& m : out.from) {
    m_from.push_back(std::move(m));
  }
  for (TransportEvent& e : out.events) {
    m_events.push_back(std::move(e));
  }
  for (IrcChannelEvent& c : out.channel) {
    m_channel.push_back(std::move(c));
  }
}

void IrcTransport::Impl::open() {
  close();
  auto started = Clock::now();
  auto deadline = started + m_timeout;
  m_socket = detail::connect_tcp(m_host, m_port, deadline, &m_address);
  m_out.clear();
  apply(m_session.start(m_address, started));
  try {
    watch(m_socket.get());
    flush(deadline);
    while (!m_session.registered()) {
      if (!m_session.refusal().empty()) {
        throw TransportError(m_session.refusal());
      }
      if (closed()) {
        throw TransportError(m_events.empty()
                                 ? "IRC server " + m_address + " closed the connection"
                                 : m_events.back().text + " before registration");
      }
      if (detail::poll_one(m_socket.get(), POLLIN, deadline, m_address) == 0) {
        m_session.tick(Clock::now());  // past the deadline: refusal() says so
        continue;
      }
      pump();
      flush(deadline);
    }
  } catch (const TransportError&) {
    if (!m_events.empty() && m_events.back().kind == EventKind::Closed) {
      m_events.pop_back();  // the exception carries the news
    }
    m_session.close();  // not registered: no QUIT to send
    m_socket.reset();
    update_wakeup();
    throw;
  }
  update_wakeup();
}

void IrcTransport::Impl::send_lines(IrcOutput lines) {
  apply(std::move(lines));  // the session refused with TransportError when closed or unfit
  try {
    flush(Clock::now() + m_write_timeout);
  } catch (const TransportError& e) {
    lost(m_session.connection_failed(e.what()));
    update_wakeup();
    throw;
  }
  update_wakeup();
}

std::vector<std::string> IrcTransport::Impl::read_available() {
  if (!closed()) {
    pump();
    if (!m_out.empty() && !closed()) {
      try {
        flush(Clock::now() + m_write_timeout);
      } catch (const TransportError& e) {
        lost(m_session.connection_failed(e.what()));
      }
    }
  }
  std::vector<std::string> out;
  out.swap(m_messages);
  update_wakeup();
  return out;
}

std::vector<IrcMessage> IrcTransport::Impl::read_messages() {
  read_available();  // reads the socket; with accept_any_nick its list stays empty
  std::vector<IrcMessage> out;
  out.swap(m_from);
  update_wakeup();
  return out;
}

std::vector<IrcChannelEvent> IrcTransport::Impl::read_channel() {
  read_available();  // reads the socket
  std::vector<IrcChannelEvent> out;
  out.swap(m_channel);
  update_wakeup();
  return out;
}

std::vector<TransportEvent> IrcTransport::Impl::take_events() {
  std::vector<TransportEvent> out;
  out.swap(m_events);
  update_wakeup();
  return out;
}

void IrcTransport::Impl::close() {
  IrcOutput quit = m_session.close();
  if (m_socket) {
    // Best effort and without waiting: the server learns why we left, or just sees the close.
    for (const std::string& line : quit.lines) {
      [[maybe_unused]] ssize_t n =
          ::send(m_socket.get(), line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
  }
  m_socket.reset();
  m_out.clear();
}

void IrcTransport::Impl::flush(Clock::time_point deadline) {
  if (m_flushing) {
    return;  // pump() ran inside flush(); the outer loop sends what it queued
  }
  m_flushing = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{m_flushing};

  while (!m_out.empty()) {
    if (closed()) {
      throw TransportError("write to " + m_address + ": the connection is closed");
    }
    ssize_t n = ::send(m_socket.get(), m_out.data(), m_out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      m_out.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    int err = errno;
    if (err == EINTR) {
      continue;
    }
    if (err != EAGAIN && err != EWOULDBLOCK) {
      throw TransportError("write to " + m_address + ": " + errno_text(err));
    }
    // The server reads slowly (ngircd delays fast clients). Keep reading meanwhile, so its
    // PINGs get their PONG and it never blocks on us.
    short revents = detail::poll_one(m_socket.get(), POLLIN | POLLOUT, deadline, m_address);
    if (revents == 0) {
      throw TransportError("write to " + m_address + ": timed out with " +
                           std::to_string(m_out.size()) + " bytes unsent");
    }
    if ((revents & POLLIN) != 0) {
      pump();
    }
  }
}

void IrcTransport::Impl::pump() {
  char buffer[kReadChunk];
  for (int i = 0; i < kMaxReadsPerCall && !closed(); ++i) {
    ssize_t n = ::recv(m_socket.get(), buffer, sizeof buffer, MSG_DONTWAIT);
    if (n > 0) {
      apply(m_session.receive(std::string_view(buffer, static_cast<std::size_t>(n))));
      continue;
    }
    if (n == 0) {
      lost(m_session.server_closed());
      break;
    }
    int err = errno;
    if (err == EINTR) {
      continue;
    }
    if (err != EAGAIN && err != EWOULDBLOCK) {
      lost(m_session.connection_failed("read from " + m_address + ": " + errno_text(err)));
    }
    break;
  }
  update_wakeup();
}

// lost drops the connection after the session has ended (|closed_event| holds its Closed event,
// or nothing if it had already ended).
void IrcTransport::Impl::lost(IrcOutput closed_event) {
  if (closed()) {
    return;
  }
  m_socket.reset();
  m_out.clear();
  apply(std::move(closed_event));
}

void IrcTransport::Impl::update_wakeup() {
  bool want =
      !m_messages.empty() || !m_from.empty() || !m_events.empty() || !m_channel.empty();
  if (want && !m_wakeup_set) {
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(m_wakeup.get(), &one, sizeof one);
    m_wakeup_set = true;
  } else if (!want && m_wakeup_set) {
    std::uint64_t count = 0;
    [[maybe_unused]] ssize_t n = ::read(m_wakeup.get(), &count, sizeof count);
    m_wakeup_set = false;
  }
}

std::unique_ptr<IrcTransport> IrcTransport::connect(IrcOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  impl->open();
  return std::unique_ptr<IrcTransport>(new IrcTransport(std::move(impl)));
}

IrcTransport::IrcTransport(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

IrcTransport::~IrcTransport() = default;

void IrcTransport::send(std::string_view message) { m_impl->send(message); }

std::vector<std::string> IrcTransport::read_available() { return m_impl->read_available(); }

std::vector<TransportEvent> IrcTransport::take_events() { return m_impl->take_events(); }

int IrcTransport::native_handle() const { return m_impl->native_handle(); }

std::size_t IrcTransport::max_message_size() const { return m_impl->max_message_size(); }

bool IrcTransport::closed() const { return m_impl->closed(); }

void IrcTransport::close() { m_impl->close(); }

void IrcTransport::reconnect() { m_impl->open(); }

std::vector<IrcMessage> IrcTransport::read_messages() { return m_impl->read_messages(); }

void IrcTransport::send_to(std::string_view nick, std::string_view message) {
  m_impl->send_to(nick, message);
}

void IrcTransport::change_nick(std::string_view nick) { m_impl->change_nick(nick); }

std::vector<IrcChannelEvent> IrcTransport::read_channel() { return m_impl->read_channel(); }

void IrcTransport::say_in_channel(std::string_view text) { m_impl->say_in_channel(text); }

void IrcTransport::notice_to(std::string_view nick, std::string_view text) {
  m_impl->notice_to(nick, text);
}

std::size_t IrcTransport::channel_message_size() const { return m_impl->channel_message_size(); }

std::vector<std::string> IrcTransport::channel_nicks() const { return m_impl->channel_nicks(); }

const std::string& IrcTransport::nick() const { return m_impl->nick(); }

const std::string& IrcTransport::peer() const { return m_impl->peer(); }

const std::string& IrcTransport::server_name() const { return m_impl->server_name(); }

}  // namespace otr::transport
