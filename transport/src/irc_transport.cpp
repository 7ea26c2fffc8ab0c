#include "otr/transport/irc_transport.hpp"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <utility>

#include "otr/transport/irc_line.hpp"
#include "posix_io.hpp"

namespace otr::transport {

using detail::Clock;
using detail::errno_text;
using detail::Fd;

namespace {

// RFC 2812 2.3: "IRC messages are always lines of characters terminated with a CR-LF pair, and
// these messages SHALL NOT exceed 512 characters in length, counting all characters including
// the trailing CR-LF."
constexpr std::size_t kIrcLineBytes = 512;
// The server shows us to the peer with a host of its choosing (DNS name, address or cloak); 63
// bytes, the HOSTLEN of common servers and the longest DNS label, bounds it.
constexpr std::size_t kMaxHostBytes = 63;
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr int kMaxReadsPerCall = 16;
// How much of a stranger's message an event quotes.
constexpr std::size_t kQuoteBytes = 160;

std::string quote(std::string_view text) {
  if (text.size() <= kQuoteBytes) {
    return std::string(text);
  }
  return std::string(text.substr(0, kQuoteBytes)) + "...";
}

void check_name(std::string_view what, std::string_view value) {
  if (value.empty()) {
    throw std::invalid_argument("IRC options: " + std::string(what) + " is empty");
  }
  if (value.find_first_of(std::string_view(" \r\n\0", 4)) != std::string_view::npos) {
    throw std::invalid_argument("IRC options: " + std::string(what) + " \"" +
                                std::string(value) + "\" contains a space, CR, LF or NUL");
  }
}

bool is_numeric(const std::string& command) {
  return command.size() == 3 && command.find_first_not_of("0123456789") == std::string::npos;
}

// rest_of joins params[from..] with spaces: the human-readable part of a numeric reply.
std::string rest_of(const std::vector<std::string>& params, std::size_t from) {
  std::string out;
  for (std::size_t i = from; i < params.size(); ++i) {
    out += (i == from ? "" : " ") + params[i];
  }
  return out;
}

}  // namespace

class IrcTransport::Impl {
 public:
  explicit Impl(IrcOptions options) : m_options(std::move(options)) {
    check_name("nick", m_options.nick);
    check_name("peer", m_options.peer);
    check_name("user", m_options.user);
    if (is_channel_name(m_options.peer)) {
      throw std::invalid_argument("IRC options: peer \"" + m_options.peer +
                                  "\" is a channel; IrcTransport talks to one nick");
    }
    if (m_options.realname.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      throw std::invalid_argument("IRC options: realname contains CR, LF or NUL");
    }
    if (m_options.max_nick_attempts < 1) {
      throw std::invalid_argument("IRC options: max_nick_attempts must be at least 1");
    }
    m_epoll = Fd(epoll_create1(EPOLL_CLOEXEC));
    m_wakeup = Fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!m_epoll || !m_wakeup) {
      throw TransportError("IRC transport: cannot create epoll/eventfd: " + errno_text(errno));
    }
    watch(m_wakeup.get());
    m_nick = m_options.nick;
    m_peer = m_options.peer;
  }

  ~Impl() { close(); }

  void open();
  void send(std::string_view message);
  std::vector<std::string> read_available();
  std::vector<TransportEvent> take_events();
  std::size_t max_message_size() const;
  void close();

  int native_handle() const { return m_epoll.get(); }
  bool closed() const { return !m_socket; }
  const std::string& nick() const { return m_nick; }
  const std::string& peer() const { return m_peer; }
  const std::string& server_name() const { return m_server; }

 private:
  void watch(int fd);
  void queue(std::string_view command, const std::vector<std::string>& params);
  void flush(Clock::time_point deadline);
  void pump();
  void handle(const std::string& raw);
  void on_message(const IrcLine& line);
  void on_nick(const IrcLine& line);
  void on_nick_in_use(const IrcLine& line);
  void on_numeric(const IrcLine& line);
  void lost(std::string text);
  void event(EventKind kind, std::string text) { m_events.push_back({kind, std::move(text)}); }
  void update_wakeup();
  std::string server_text() const { return "IRC server " + m_address; }

  IrcOptions m_options;
  Fd m_epoll;
  Fd m_wakeup;
  bool m_wakeup_set = false;
  Fd m_socket;
  std::string m_address;  // numeric address of the server, for texts
  std::string m_server;   // the server's own name, from the welcome
  std::string m_nick;
  std::string m_peer;
  bool m_registered = false;
  int m_nick_attempts = 1;
  std::string m_fatal;         // why registration cannot succeed, once known
  std::string m_server_error;  // text of the last ERROR, quoted when the connection ends
  IrcLineSplitter m_splitter;
  std::string m_out;  // bytes queued for the socket, always whole lines
  bool m_flushing = false;
  std::vector<std::string> m_messages;
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

void IrcTransport::Impl::open() {
  close();
  auto deadline = Clock::now() + m_options.timeout;
  m_socket = detail::connect_tcp(m_options.host, m_options.port, deadline, &m_address);
  watch(m_socket.get());
  m_server = m_options.host;
  m_nick = m_options.nick;
  m_peer = m_options.peer;
  m_registered = false;
  m_nick_attempts = 1;
  m_fatal.clear();
  m_server_error.clear();
  m_splitter = IrcLineSplitter();
  m_out.clear();

  // RFC 2812 3.1: "The RECOMMENDED order for a client to register is as follows: 1. Pass message
  // 2. Nick message 2. Service message 3. User message".
  if (!m_options.password.empty()) {
    queue("PASS", {m_options.password});
  }
  queue("NICK", {m_nick});
  queue("USER", {m_options.user, "0", "*", m_options.realname});
  try {
    flush(deadline);
    while (!m_registered) {
      if (!m_fatal.empty()) {
        throw TransportError(m_fatal);
      }
      if (closed()) {
        throw TransportError(m_events.empty() ? server_text() + " closed the connection"
                                              : m_events.back().text + " before registration");
      }
      if (detail::poll_one(m_socket.get(), POLLIN, deadline, m_address) == 0) {
        throw TransportError(server_text() + ": no welcome (001) within " +
                             std::to_string(m_options.timeout.count()) + " ms");
      }
      pump();
      flush(deadline);
    }
  } catch (const TransportError&) {
    if (!m_events.empty() && m_events.back().kind == EventKind::Closed) {
      m_events.pop_back();  // the exception carries the news
    }
    m_socket.reset();
    update_wakeup();
    throw;
  }
  event(EventKind::Connected, "registered as " + m_nick + " on " + m_server + " (" + m_address +
                                  "); talking to " + m_peer);
  update_wakeup();
}

std::size_t IrcTransport::Impl::max_message_size() const {
  std::size_t overhead = 1 + m_nick.size() + 1 + 1 + m_options.user.size() + 1 + kMaxHostBytes +
                         std::string_view(" PRIVMSG ").size() + m_peer.size() + 2 + 2;
  // Absurdly long nicks would leave nothing; 1 keeps the meaning "limited" (0 is unlimited).
  return overhead >= kIrcLineBytes ? 1 : kIrcLineBytes - overhead;
}

void IrcTransport::Impl::send(std::string_view message) {
  std::string to = m_peer + " via " + m_address;
  if (closed()) {
    throw TransportError("send to " + to + ": the connection is closed");
  }
  if (message.size() > max_message_size()) {
    throw TransportError("send to " + to + ": message of " + std::to_string(message.size()) +
                         " bytes exceeds the maximum of " + std::to_string(max_message_size()) +
                         " for one PRIVMSG");
  }
  if (message.find('\0') != std::string_view::npos) {
    throw TransportError("send to " + to + ": IRC cannot carry a NUL byte");
  }
  while (!message.empty()) {
    std::size_t end = message.find_first_of("\r\n");
    std::string_view piece = message.substr(0, end);
    message = end == std::string_view::npos ? std::string_view{} : message.substr(end + 1);
    if (!piece.empty()) {
      queue("PRIVMSG", {m_peer, std::string(piece)});
    }
  }
  try {
    flush(Clock::now() + m_options.write_timeout);
  } catch (const TransportError& e) {
    lost(e.what());
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
        flush(Clock::now() + m_options.write_timeout);
      } catch (const TransportError& e) {
        lost(e.what());
      }
    }
  }
  std::vector<std::string> out;
  out.swap(m_messages);
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
  if (m_socket && m_registered) {
    // Best effort and without waiting: the server learns why we left, or just sees the close.
    std::string quit = format_irc_line("QUIT", {"otrchat closed the conversation"}) + "\r\n";
    [[maybe_unused]] ssize_t n =
        ::send(m_socket.get(), quit.data(), quit.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  m_socket.reset();
  m_registered = false;
  m_out.clear();
}

void IrcTransport::Impl::queue(std::string_view command, const std::vector<std::string>& params) {
  m_out += format_irc_line(command, params);
  m_out += "\r\n";
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
      for (const auto& line : m_splitter.feed(std::string_view(buffer, static_cast<size_t>(n)))) {
        handle(line);
      }
      continue;
    }
    if (n == 0) {
      lost(server_text() + " closed the connection" +
           (m_server_error.empty() ? std::string() : ": " + m_server_error));
      break;
    }
    int err = errno;
    if (err == EINTR) {
      continue;
    }
    if (err != EAGAIN && err != EWOULDBLOCK) {
      lost("read from " + m_address + ": " + errno_text(err));
    }
    break;
  }
  for (auto& p : m_splitter.take_problems()) {
    event(EventKind::Warning, server_text() + ": " + p);
  }
  update_wakeup();
}

void IrcTransport::Impl::handle(const std::string& raw) {
  std::optional<IrcLine> parsed = parse_irc_line(raw);
  if (!parsed) {
    event(EventKind::Warning, "unparsable line from " + server_text() + " ignored: " + quote(raw));
    return;
  }
  const IrcLine& line = *parsed;
  const std::string& cmd = line.command;
  if (cmd == "PING") {
    // RFC 2812 3.7.2/3.7.3: answer with a PONG carrying the PING's parameter. Echoing every
    // parameter also satisfies servers that check a registration cookie (ngircd
    // RequireAuthPing).
    queue("PONG", line.params.empty() ? std::vector<std::string>{m_server} : line.params);
  } else if (cmd == "PRIVMSG" || cmd == "NOTICE") {
    on_message(line);
  } else if (cmd == "NICK") {
    on_nick(line);
  } else if (cmd == "ERROR") {
    m_server_error = line.params.empty() ? "ERROR" : line.params.back();
    if (!m_registered) {
      m_fatal = server_text() + " refused us: " + m_server_error;
    }
  } else if (cmd == "QUIT") {
    if (irc_equal(split_irc_prefix(line.prefix).nick, m_peer)) {
      event(EventKind::Server,
            m_peer + " quit" + (line.params.empty() ? "" : ": " + quote(line.params.back())));
    }
  } else if (is_numeric(cmd)) {
    on_numeric(line);
  }
}

void IrcTransport::Impl::on_message(const IrcLine& line) {
  IrcPrefix from = split_irc_prefix(line.prefix);
  std::string target = line.params.empty() ? std::string() : line.params.front();
  std::string text = line.params.size() < 2 ? std::string() : line.params.back();
  bool notice = line.command == "NOTICE";

  if (notice && (line.prefix.empty() || from.is_server() || !m_registered)) {
    event(EventKind::Server, "notice from " + (line.prefix.empty() ? m_server : from.nick) +
                                 ": " + quote(text));
    return;
  }
  if (is_channel_name(target)) {
    event(EventKind::Ignored, line.command + " in " + target + " from " + from.nick +
                                  " ignored: " + quote(text));
    return;
  }
  if (!irc_equal(from.nick, m_peer)) {
    event(EventKind::Ignored, line.command + " from " + from.nick + " (not the peer " + m_peer +
                                  ") ignored: " + quote(text));
    return;
  }
  if (notice) {
    event(EventKind::Ignored, "NOTICE from " + from.nick + " ignored: " + quote(text));
    return;
  }
  if (!text.empty() && text.front() == '\x01') {
    // CTCP (ACTION, VERSION, ...): "\x01NAME args\x01". Not OTR traffic.
    std::string_view body = std::string_view(text).substr(1);
    std::string name(body.substr(0, body.find_first_of(" \x01")));
    event(EventKind::Ignored, "CTCP " + (name.empty() ? std::string("request") : name) +
                                  " from " + from.nick + " ignored");
    return;
  }
  m_messages.push_back(std::move(text));
}

void IrcTransport::Impl::on_nick(const IrcLine& line) {
  if (line.params.empty()) {
    return;
  }
  std::string old_nick = split_irc_prefix(line.prefix).nick;
  const std::string& new_nick = line.params.back();
  if (irc_equal(old_nick, m_nick)) {
    m_nick = new_nick;
    event(EventKind::NickChanged, "our nick is now " + m_nick);
  } else if (irc_equal(old_nick, m_peer)) {
    m_peer = new_nick;
    event(EventKind::NickChanged, "peer " + old_nick + " is now known as " + m_peer +
                                      "; messages go to the new nick");
  }
}

void IrcTransport::Impl::on_nick_in_use(const IrcLine& line) {
  std::string reason = line.params.empty() ? "in use" : line.params.back();
  if (m_registered) {
    event(EventKind::Server, "nick change refused: " + rest_of(line.params, 1));
    return;
  }
  if (m_nick_attempts >= m_options.max_nick_attempts) {
    m_fatal = server_text() + ": nick " + m_nick + " is not available (" + reason +
              "), and so were the " + std::to_string(m_nick_attempts - 1) +
              " shorter variants of " + m_options.nick;
    return;
  }
  std::string next = m_nick + "_";
  event(EventKind::NickChanged,
        "nick " + m_nick + " is not available (" + reason + "); trying " + next);
  m_nick = next;
  ++m_nick_attempts;
  queue("NICK", {m_nick});
}

void IrcTransport::Impl::on_numeric(const IrcLine& line) {
  const std::string& cmd = line.command;
  std::string about = line.params.size() > 1 ? line.params[1] : std::string();
  if (cmd == "001") {
    m_registered = true;
    if (!line.params.empty()) {
      m_nick = line.params.front();
    }
    if (!line.prefix.empty()) {
      m_server = line.prefix;
    }
  } else if (cmd == "433" || cmd == "436" || cmd == "437") {
    // 433 ERR_NICKNAMEINUSE, 436 ERR_NICKCOLLISION, 437 ERR_UNAVAILRESOURCE.
    on_nick_in_use(line);
  } else if (cmd == "432" && !m_registered) {
    m_fatal = server_text() + " rejected the nick \"" + m_nick + "\": " + rest_of(line.params, 2);
  } else if ((cmd == "464" || cmd == "465") && !m_registered) {
    m_fatal = server_text() + " refused us: " + rest_of(line.params, 1);
  } else if (cmd == "401" && irc_equal(about, m_peer)) {
    event(EventKind::Server, "peer " + m_peer + " is not on " + m_server + " (" +
                                 rest_of(line.params, 2) + "); the message was not delivered");
  } else if (cmd == "301" && irc_equal(about, m_peer)) {
    event(EventKind::Server, "peer " + m_peer + " is away: " + rest_of(line.params, 2));
  } else if (cmd[0] == '4' || cmd[0] == '5') {
    // 422 ERR_NOMOTD is routine; every other error reply is worth a line.
    if (cmd != "422") {
      event(EventKind::Server, m_server + " says " + cmd + ": " + rest_of(line.params, 1));
    }
  }
}

void IrcTransport::Impl::lost(std::string text) {
  if (closed()) {
    return;
  }
  m_socket.reset();
  m_registered = false;
  m_out.clear();
  event(EventKind::Closed, std::move(text));
}

void IrcTransport::Impl::update_wakeup() {
  bool want = !m_messages.empty() || !m_events.empty();
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

const std::string& IrcTransport::nick() const { return m_impl->nick(); }

const std::string& IrcTransport::peer() const { return m_impl->peer(); }

const std::string& IrcTransport::server_name() const { return m_impl->server_name(); }

}  // namespace otr::transport
