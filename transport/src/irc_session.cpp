// IrcSession: registration, PING, the peer's PRIVMSGs and everything else a server may say, as
// lines in and lines, messages and events out.
//
// Theory of operation. A session lives from start() (a fresh TCP connection) to close(),
// server_closed() or connection_failed(). In between it is either registering (NICK/USER sent,
// no welcome yet) or registered (001 arrived). While registering, a nick in use makes it try the
// next nick; a fatal answer (432, 464, 465, ERROR, no nick left) or the deadline passing sets
// refusal(), after which the caller gives up on the connection. Once registered, PRIVMSGs from
// the peer are messages and everything else is an event. Only the caller can end a session:
// the protocol has no way to learn that the socket closed.
#include "otr/transport/irc_session.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace otr::transport {

namespace {

// RFC 2812 2.3: "IRC messages are always lines of characters terminated with a CR-LF pair, and
// these messages SHALL NOT exceed 512 characters in length, counting all characters including
// the trailing CR-LF."
constexpr std::size_t kIrcLineBytes = 512;
constexpr std::size_t kIrcLineTextBytes = kIrcLineBytes - 2;
// The server shows us to the peer with a host of its choosing (DNS name, address or cloak); 63
// bytes, the HOSTLEN of common servers and the longest DNS label, bounds it.
constexpr std::size_t kMaxHostBytes = 63;
// How much of a stranger's message an event quotes.
constexpr std::size_t kQuoteBytes = 160;
constexpr std::string_view kQuitText = "otrchat closed the conversation";

std::string quote(std::string_view text) {
  if (text.size() <= kQuoteBytes) {
    return std::string(text);
  }
  return std::string(text.substr(0, kQuoteBytes)) + "...";
}

bool has_bad_name_byte(std::string_view name) {
  return name.find_first_of(std::string_view(" \r\n\0", 4)) != std::string_view::npos;
}


void check_name(std::string_view what, std::string_view value) {
  if (value.empty()) {
    throw std::invalid_argument("IRC options: " + std::string(what) + " is empty");
  }
  if (has_bad_name_byte(value)) {
    throw std::invalid_argument("IRC options: " + std::string(what) + " \"" + std::string(value) +
                                "\" contains a space, CR, LF or NUL");
  }
  if (value.front() == ':') {
    throw std::invalid_argument("IRC options: " + std::string(what) + " \"" + std::string(value) +
                                "\" starts with ':'");
  }
}

// try_line returns the line "COMMAND params" with its CR LF, or nullopt if it cannot be written
// (a parameter holds CR, LF or NUL, a middle parameter is not one word) or would exceed 512 bytes.
std::optional<std::string> try_line(std::string_view command,
                                    const std::vector<std::string>& params) {
  std::string line;
  try {
    line = format_irc_line(command, params);
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
  if (line.size() > kIrcLineTextBytes) {
    return std::nullopt;
  }
  return line + "\r\n";
}

// checked_line formats a line from values the constructor checked. Throws std::invalid_argument
// (naming the line) if it cannot be written or would exceed 512 bytes.
std::string checked_line(std::string_view command, const std::vector<std::string>& params) {
  std::string line = format_irc_line(command, params);
  if (line.size() > kIrcLineTextBytes) {
    throw std::invalid_argument("IRC options: the " + std::string(command) + " line would be " +
                                std::to_string(line.size()) + " bytes; IRC allows " +
                                std::to_string(kIrcLineTextBytes) + " before CR LF");
  }
  return line + "\r\n";
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

void event(IrcOutput& out, EventKind kind, std::string text) {
  out.events.push_back({kind, std::move(text)});
}

// check_channel refuses a name that JOIN or PRIVMSG cannot carry as one channel: RFC 2812 1.3,
// "Channels names are strings (beginning with a '&', '#', '+' or '!' character) ... [that] SHALL
// NOT contain any spaces (' '), a control G (^G or ASCII 7), a comma (',')".
void check_channel(const std::string& channel) {
  if (!is_channel_name(channel) ||
      channel.find_first_of(std::string_view(" ,\a\r\n\0", 6)) != std::string::npos) {
    throw std::invalid_argument("IRC options: \"" + channel +
                                "\" is not a channel name (#name, without spaces or commas)");
  }
}

}  // namespace

bool IrcSession::usable_nick(std::string_view name) {
  return !name.empty() && name.front() != ':' && !has_bad_name_byte(name);
}

void IrcOutput::append(IrcOutput&& more) {
  for (auto& l : more.lines) {
    lines.push_back(std::move(l));
  }
  for (auto& m : more.messages) {
    messages.push_back(std::move(m));
  }
  for (auto& m : more.from) {
    from.push_back(std::move(m));
  }
  for (auto& e : more.events) {
    events.push_back(std::move(e));
  }
  for (auto& c : more.channel) {
    channel.push_back(std::move(c));
  }
}

IrcSession::IrcSession(IrcOptions options) : m_options(std::move(options)) {
  check_name("nick", m_options.nick);
  if (!m_options.peer.empty() || m_options.channel.empty()) {
    check_name("peer", m_options.peer);
  }
  check_name("user", m_options.user);
  if (!m_options.channel.empty()) {
    check_channel(m_options.channel);
    checked_line("JOIN", {m_options.channel});
  }
  if (is_channel_name(m_options.peer)) {
    throw std::invalid_argument("IRC options: peer \"" + m_options.peer +
                                "\" is a channel, not a nick (private messages go to nicks)");
  }
  if (m_options.realname.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
    throw std::invalid_argument("IRC options: realname contains CR, LF or NUL");
  }
  if (m_options.max_nick_attempts < 1) {
    throw std::invalid_argument("IRC options: max_nick_attempts must be at least 1");
  }
  if (!m_options.password.empty()) {
    checked_line("PASS", {m_options.password});
  }
  checked_line("NICK", {m_options.nick});
  checked_line("USER", {m_options.user, "0", "*", m_options.realname});
  m_server = m_options.host;
  m_nick = m_options.nick;
  m_peer = m_options.peer;
}

IrcOutput IrcSession::start(std::string address, TimePoint now) {
  m_address = std::move(address);
  m_server = m_options.host;
  m_nick = m_options.nick;
  m_peer = m_options.peer;
  m_closed = false;
  m_registered = false;
  m_nick_attempts = 1;
  m_deadline = now + m_options.timeout;
  m_refusal.clear();
  m_server_error.clear();
  m_splitter = IrcLineSplitter();
  forget_channel();

  // RFC 2812 3.1: "The RECOMMENDED order for a client to register is as follows: 1. Pass message
  // 2. Nick message 2. Service message 3. User message".
  IrcOutput out;
  if (!m_options.password.empty()) {
    out.lines.push_back(checked_line("PASS", {m_options.password}));
  }
  out.lines.push_back(checked_line("NICK", {m_nick}));
  out.lines.push_back(checked_line("USER", {m_options.user, "0", "*", m_options.realname}));
  return out;
}

IrcOutput IrcSession::receive(std::string_view bytes) {
  IrcOutput out;
  if (m_closed) {
    return out;
  }
  for (const std::string& line : m_splitter.feed(bytes)) {
    out.append(receive_line(line));
  }
  for (std::string& p : m_splitter.take_problems()) {
    event(out, EventKind::Warning, server_text() + ": " + p);
  }
  return out;
}

IrcOutput IrcSession::receive_line(std::string_view raw) {
  IrcOutput out;
  if (m_closed) {
    return out;
  }
  std::optional<IrcLine> parsed = parse_irc_line(raw);
  if (!parsed) {
    event(out, EventKind::Warning,
          "unparsable line from " + server_text() + " ignored: " + quote(raw));
    return out;
  }
  handle(*parsed, out);
  return out;
}

void IrcSession::tick(TimePoint now) {
  if (next_deadline() && now >= m_deadline) {
    m_refusal = server_text() + ": no welcome (001) within " +
                std::to_string(m_options.timeout.count()) + " ms";
  }
}

std::optional<IrcSession::TimePoint> IrcSession::next_deadline() const {
  if (m_closed || m_registered || !m_refusal.empty()) {
    return std::nullopt;
  }
  return m_deadline;
}

IrcOutput IrcSession::send(std::string_view message) {
  return send_to(m_peer, message);
}

IrcOutput IrcSession::change_nick(std::string_view nick) {
  if (!usable_nick(nick)) {
    throw std::invalid_argument("\"" + std::string(nick) + "\" cannot be a nick");
  }
  if (m_closed || !m_registered) {
    throw TransportError("nick change: not connected to " + server_text());
  }
  IrcOutput out;
  std::optional<std::string> line = try_line("NICK", {std::string(nick)});
  if (!line) {
    throw std::invalid_argument("the nick \"" + std::string(nick) + "\" is too long");
  }
  out.lines.push_back(std::move(*line));
  return out;
}

IrcOutput IrcSession::send_to(std::string_view nick, std::string_view message) {
  if (!usable_nick(nick) || is_channel_name(nick)) {
    throw std::invalid_argument("send to \"" + std::string(nick) + "\": not a nick");
  }
  return privmsg_lines(std::string(nick), message, max_message_size());
}

IrcOutput IrcSession::notice_to(std::string_view nick, std::string_view text) {
  if (!usable_nick(nick) || is_channel_name(nick)) {
    throw std::invalid_argument("notice to \"" + std::string(nick) + "\": not a nick");
  }
  return privmsg_lines(std::string(nick), text, max_message_size(), "NOTICE");
}

// privmsg_lines is send_to() to |target| (a nick or our channel), whose messages may be |limit|
// bytes long, with |command| (PRIVMSG, or NOTICE).
IrcOutput IrcSession::privmsg_lines(const std::string& target, std::string_view message,
                                    std::size_t limit, std::string_view command) const {
  std::string to = target + " via " + m_address;
  if (m_closed) {
    throw TransportError("send to " + to + ": the connection is closed");
  }
  if (!m_registered) {
    throw TransportError("send to " + to + ": not registered with the server yet");
  }
  if (message.size() > limit) {
    throw TransportError("send to " + to + ": message of " + std::to_string(message.size()) +
                         " bytes exceeds the maximum of " + std::to_string(limit) +
                         " for one PRIVMSG");
  }
  if (message.find('\0') != std::string_view::npos) {
    throw TransportError("send to " + to + ": IRC cannot carry a NUL byte");
  }
  IrcOutput out;
  while (!message.empty()) {
    std::size_t end = message.find_first_of("\r\n");
    std::string_view piece = message.substr(0, end);
    message = end == std::string_view::npos ? std::string_view{} : message.substr(end + 1);
    if (piece.empty()) {
      continue;
    }
    // |target| is a usable nick or our checked channel and |piece| holds no CR, LF or NUL, so
    // only the length can fail.
    std::optional<std::string> line = try_line(command, {target, std::string(piece)});
    if (!line) {
      throw TransportError("send to " + to + ": a " + std::string(command) + " to a target of " +
                           std::to_string(target.size()) + " bytes would exceed " +
                           std::to_string(kIrcLineBytes) + " bytes");
    }
    out.lines.push_back(std::move(*line));
  }
  return out;
}

IrcOutput IrcSession::close() {
  IrcOutput out;
  if (!m_closed && m_registered) {
    out.lines.push_back(checked_line("QUIT", {std::string(kQuitText)}));
  }
  m_closed = true;
  m_registered = false;
  forget_channel();
  return out;
}

IrcOutput IrcSession::server_closed() {
  return end_with(server_text() + " closed the connection" +
                  (m_server_error.empty() ? std::string() : ": " + m_server_error));
}

IrcOutput IrcSession::connection_failed(std::string reason) {
  return end_with(std::move(reason));
}

IrcOutput IrcSession::end_with(std::string text) {
  IrcOutput out;
  if (m_closed) {
    return out;
  }
  m_closed = true;
  m_registered = false;
  forget_channel();
  event(out, EventKind::Closed, std::move(text));
  return out;
}

std::size_t IrcSession::max_message_size() const {
  const std::size_t peer_bytes =
      m_options.accept_any_nick ? std::max(m_peer.size(), kAnyNickBytes) : m_peer.size();
  return message_size_for(peer_bytes);
}

std::size_t IrcSession::channel_message_size() const {
  return m_options.channel.empty() ? 0 : message_size_for(m_options.channel.size());
}

std::size_t IrcSession::message_size_for(std::size_t target_bytes) const {
  std::size_t overhead = 1 + m_nick.size() + 1 + 1 + m_options.user.size() + 1 + kMaxHostBytes +
                         std::string_view(" PRIVMSG ").size() + target_bytes + 2 + 2;
  // Absurdly long nicks would leave nothing; 1 keeps the meaning "limited" (0 is unlimited).
  return overhead >= kIrcLineBytes ? 1 : kIrcLineBytes - overhead;
}

void IrcSession::handle(const IrcLine& line, IrcOutput& out) {
  const std::string& cmd = line.command;
  if (!m_options.channel.empty() && m_registered && on_channel_line(line, out)) {
    return;
  }
  if (cmd == "PING") {
    on_ping(line, out);
  } else if (cmd == "PRIVMSG" || cmd == "NOTICE") {
    on_message(line, out);
  } else if (cmd == "NICK") {
    on_nick(line, out);
  } else if (cmd == "ERROR") {
    m_server_error = line.params.empty() ? "ERROR" : line.params.back();
    if (!m_registered) {
      m_refusal = server_text() + " refused us: " + m_server_error;
    }
  } else if (cmd == "QUIT") {
    if (is_peer(split_irc_prefix(line.prefix).nick)) {
      event(out, EventKind::Server,
            m_peer + " quit" + (line.params.empty() ? "" : ": " + quote(line.params.back())));
    }
  } else if (is_numeric(cmd)) {
    on_numeric(line, out);
  }
}

void IrcSession::on_ping(const IrcLine& line, IrcOutput& out) {
  // RFC 2812 3.7.2/3.7.3: answer with a PONG carrying the PING's parameter. Echoing every
  // parameter also satisfies servers that check a registration cookie (ngircd RequireAuthPing).
  std::vector<std::string> params =
      line.params.empty() ? std::vector<std::string>{m_server} : line.params;
  std::optional<std::string> pong = try_line("PONG", params);
  if (!pong) {
    // Only a server breaking RFC 2812 gets here: a PING line over 512 bytes, or a NUL.
    event(out, EventKind::Warning,
          server_text() + ": PING whose answer would not be a valid IRC line ignored: " +
              quote(rest_of(params, 0)));
    return;
  }
  out.lines.push_back(std::move(*pong));
}

void IrcSession::on_message(const IrcLine& line, IrcOutput& out) {
  IrcPrefix from = split_irc_prefix(line.prefix);
  std::string target = line.params.empty() ? std::string() : line.params.front();
  std::string text = line.params.size() < 2 ? std::string() : line.params.back();
  bool notice = line.command == "NOTICE";

  if (notice && (line.prefix.empty() || from.is_server() || !m_registered)) {
    event(out, EventKind::Server,
          "notice from " + (line.prefix.empty() ? m_server : from.nick) + ": " + quote(text));
    return;
  }
  if (is_channel_name(target)) {
    event(out, EventKind::Ignored,
          line.command + " in " + target + " from " + from.nick + " ignored: " + quote(text));
    return;
  }
  if (notice && !m_options.channel.empty() && usable_nick(from.nick) && !from.is_server()) {
    // A private room's members answer each other's markers this way.
    out.channel.push_back(
        {IrcChannelEvent::Kind::PrivateNotice, from.nick, std::move(text), {}, {}});
    return;
  }
  const bool from_peer = is_peer(from.nick);
  if (!from_peer && !notice && m_options.accept_any_nick && usable_nick(from.nick) &&
      !from.is_server()) {
    // Another nick writes to us: a conversation of its own (checked for CTCP below).
  } else if (!from_peer) {
    event(out, EventKind::Ignored,
          line.command + " from " + from.nick + " (not the peer " + m_peer +
              ") ignored: " + quote(text));
    return;
  }
  if (notice) {
    event(out, EventKind::Ignored, "NOTICE from " + from.nick + " ignored: " + quote(text));
    return;
  }
  if (!text.empty() && text.front() == '\x01') {
    // CTCP (ACTION, VERSION, ...): "\x01NAME args\x01". Not OTR traffic; an ACTION (/me) sent in
    // the clear is a message for a client that asked for them.
    std::string_view body = std::string_view(text).substr(1);
    std::string name(body.substr(0, body.find_first_of(" \x01")));
    if (!(m_options.deliver_actions && name == "ACTION")) {
      event(out, EventKind::Ignored,
            "CTCP " + (name.empty() ? std::string("request") : name) + " from " + from.nick +
                " ignored");
      return;
    }
  }
  if (m_options.accept_any_nick) {
    std::string sender = from_peer ? m_peer : from.nick;
    if (!m_options.channel.empty()) {
      out.channel.push_back(
          {IrcChannelEvent::Kind::Private, std::move(sender), std::move(text), {}, {}});
    } else {
      out.from.push_back({std::move(sender), std::move(text)});
    }
    return;
  }
  out.messages.push_back(std::move(text));
}

void IrcSession::on_nick(const IrcLine& line, IrcOutput& out) {
  if (line.params.empty()) {
    return;
  }
  std::string old_nick = split_irc_prefix(line.prefix).nick;
  const std::string& new_nick = line.params.back();
  bool ours = irc_equal(old_nick, m_nick);
  if (!ours && !is_peer(old_nick)) {
    return;
  }
  // A name we could not write in a PRIVMSG (or that names a channel) would break send() later;
  // no real server sends one.
  if (!usable_nick(new_nick) || (!ours && is_channel_name(new_nick))) {
    event(out, EventKind::Warning,
          server_text() + ": nick change of " + old_nick + " to unusable \"" + quote(new_nick) +
              "\" ignored");
    return;
  }
  if (ours) {
    m_nick = new_nick;
    event(out, EventKind::NickChanged, "our nick is now " + m_nick);
  } else {
    m_peer = new_nick;
    event(out, EventKind::NickChanged,
          "peer " + old_nick + " is now known as " + m_peer + "; messages go to the new nick");
  }
}

void IrcSession::on_nick_in_use(const IrcLine& line, IrcOutput& out) {
  std::string reason = line.params.empty() ? "in use" : line.params.back();
  if (m_registered) {
    event(out, EventKind::Server, "nick change refused: " + rest_of(line.params, 1));
    return;
  }
  if (m_nick_attempts >= m_options.max_nick_attempts) {
    m_refusal = server_text() + ": nick " + m_nick + " is not available (" + reason +
                "), and so were the " + std::to_string(m_nick_attempts - 1) +
                " shorter variants of " + m_options.nick;
    return;
  }
  std::string next = m_nick + "_";
  std::optional<std::string> nick_line = try_line("NICK", {next});
  if (!nick_line) {
    m_refusal = server_text() + ": nick " + m_nick + " is not available (" + reason +
                "), and a longer one does not fit in an IRC line";
    return;
  }
  event(out, EventKind::NickChanged,
        "nick " + m_nick + " is not available (" + reason + "); trying " + next);
  m_nick = std::move(next);
  ++m_nick_attempts;
  out.lines.push_back(std::move(*nick_line));
}

void IrcSession::on_welcome(const IrcLine& line, IrcOutput& out) {
  bool first = !m_registered;
  m_registered = true;
  if (!line.params.empty() && usable_nick(line.params.front())) {
    m_nick = line.params.front();
  }
  if (!line.prefix.empty()) {
    m_server = line.prefix;
  }
  if (first) {
    std::string doing = m_peer.empty() ? "" : "; talking to " + m_peer;
    if (!m_options.channel.empty()) {
      doing += "; joining " + m_options.channel;
      out.lines.push_back(checked_line("JOIN", {m_options.channel}));
    }
    event(out, EventKind::Connected,
          "registered as " + m_nick + " on " + m_server + " (" + m_address + ")" + doing);
  }
}

void IrcSession::on_numeric(const IrcLine& line, IrcOutput& out) {
  const std::string& cmd = line.command;
  std::string about = line.params.size() > 1 ? line.params[1] : std::string();
  if (cmd == "001") {
    on_welcome(line, out);
  } else if (cmd == "433" || cmd == "436" || cmd == "437") {
    // 433 ERR_NICKNAMEINUSE, 436 ERR_NICKCOLLISION, 437 ERR_UNAVAILRESOURCE.
    on_nick_in_use(line, out);
  } else if (cmd == "432" && !m_registered) {
    m_refusal = server_text() + " rejected the nick \"" + m_nick + "\": " + rest_of(line.params, 2);
  } else if ((cmd == "464" || cmd == "465") && !m_registered) {
    m_refusal = server_text() + " refused us: " + rest_of(line.params, 1);
  } else if (cmd == "401" && is_peer(about)) {
    event(out, EventKind::Server,
          "peer " + m_peer + " is not on " + m_server + " (" + rest_of(line.params, 2) +
              "); the message was not delivered");
  } else if (cmd == "301" && is_peer(about)) {
    event(out, EventKind::Server, "peer " + m_peer + " is away: " + rest_of(line.params, 2));
  } else if (cmd[0] == '4' || cmd[0] == '5') {
    // 422 ERR_NOMOTD is routine; every other error reply is worth a line.
    if (cmd != "422") {
      event(out, EventKind::Server, m_server + " says " + cmd + ": " + rest_of(line.params, 1));
    }
  }
}

}  // namespace otr::transport
