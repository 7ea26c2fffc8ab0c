// IrcSession: the IRC client protocol for talking to one peer nick, without sockets, clock or
// poll. IrcTransport wraps it around a TCP socket; tests and fuzzers drive it with lines alone.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "otr/transport/irc_line.hpp"
#include "otr/transport/transport.hpp"

namespace otr::transport {

// IrcOptions says where to connect, who we are and whom we talk to. IrcSession uses the names,
// the password, |timeout| and |max_nick_attempts|; |host| only until the welcome names the
// server; |port| and |write_timeout| are IrcTransport's.
struct IrcOptions {
  std::string host;                   // server name or address (IPv4 or IPv6)
  std::uint16_t port = 6667;
  std::string nick;                   // wanted nick; "_" is appended while it is in use
  std::string peer;                   // the one nick we exchange messages with
  std::string user = "otrchat";       // USER name (the server may prefix "~")
  std::string realname = "otrchat";   // USER real name
  std::string password;               // sent as PASS when not empty
  std::chrono::milliseconds timeout{15'000};        // TCP connect plus registration
  std::chrono::milliseconds write_timeout{30'000};  // send() gives up (and closes) after this
  int max_nick_attempts = 8;          // nicks tried: nick, nick_, nick__, ...
  // accept_any_nick: a private PRIVMSG from any nick is a message (IrcOutput::from, with its
  // sender) instead of an Ignored event, for a client that talks to several nicks (send_to()).
  bool accept_any_nick = false;
  // deliver_actions: a CTCP ACTION ("/me", "\x01ACTION text\x01") is a message like any other
  // instead of an Ignored event. Other CTCP requests are always ignored.
  bool deliver_actions = false;
};

// IrcMessage is one private message and the nick it came from.
struct IrcMessage {
  std::string from;
  std::string text;

  bool operator==(const IrcMessage&) const = default;
};

// IrcOutput is what one IrcSession call asks its caller to do, each list in order.
struct IrcOutput {
  std::vector<std::string> lines;      // write to the server as they are; each ends in CR LF,
                                       // holds no other CR, LF or NUL and is at most 512 bytes
  std::vector<std::string> messages;   // whole messages from the peer, for read_available()
                                       // (without accept_any_nick)
  std::vector<IrcMessage> from;        // with accept_any_nick: every private message, the
                                       // peer's included, with its sender (|messages| is empty)
  std::vector<TransportEvent> events;  // for take_events()

  bool empty() const {
    return lines.empty() && messages.empty() && from.empty() && events.empty();
  }
  // append moves everything of |more| to the end of each list.
  void append(IrcOutput&& more);
};

// IrcSession is one IRC client connection, seen as lines: it registers (PASS, NICK, USER) and
// waits for the welcome (001); afterwards a message is one "PRIVMSG <peer> :<message>" line each
// way. It performs no I/O: the caller hands it what the server sent and the time, and carries out
// the IrcOutput each call returns.
//
//   * PING is answered with a PONG echoing its parameters (a PING whose echo could not be a valid
//     line of 512 bytes gets none, and a Warning).
//   * A PRIVMSG to us from the peer (compared case-insensitively) is a message. A PRIVMSG from
//     another nick or to a channel, a NOTICE and a CTCP request (ACTION included) are not: each
//     becomes an Ignored event. A nick change of ours or of the peer is followed and reported
//     (NickChanged); the peer's may change max_message_size(). A change to a name that cannot be
//     a nick (empty, a space, a leading ':', a NUL; for the peer also a channel) is a Warning.
//   * A nick in use (433, 436, 437) before the welcome makes it try the nick with one more "_",
//     up to max_nick_attempts nicks. Server errors about the peer ("401 bob :No such nick") and
//     server notices become Server events; unparsable and over-long lines become Warnings.
//   * Registration fails (refusal() says why) on an erroneous nick (432), a bad password (464,
//     465), ERROR, running out of nicks, or no welcome before options.timeout has passed.
//
// Peer input never makes it throw; only the caller's mistakes do (see each member).
class IrcSession {
 public:
  // kAnyNickBytes is the nick length max_message_size() allows for with accept_any_nick (the
  // NICKLEN of common servers).
  static constexpr std::size_t kAnyNickBytes = 30;
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  // IrcSession checks |options|. Throws std::invalid_argument if a nick, the peer or the user
  // name is empty, contains a space, CR, LF or NUL or starts with ':', if the peer is a channel,
  // the realname contains CR, LF or NUL, max_nick_attempts is below 1, or a registration line
  // (PASS, NICK, USER) would not fit in 512 bytes.
  explicit IrcSession(IrcOptions options);

  // start begins registration on a fresh connection to |address| (the numeric "host:port" used
  // in texts, e.g. "IRC server 127.0.0.1:6667 closed the connection"), made at |now|: it forgets
  // the previous connection's state (nicks, server name, partial lines) and returns the PASS,
  // NICK and USER lines. Registration must end by now + options.timeout (see tick()).
  IrcOutput start(std::string address, TimePoint now);

  // receive takes bytes as the server sent them (any split; lines end in LF, CR LF or CR) and
  // handles each complete line as receive_line() does. A line longer than
  // IrcLineSplitter::kDefaultMaxLineBytes is dropped with a Warning. Does nothing while closed().
  IrcOutput receive(std::string_view bytes);

  // receive_line handles one line from the server, without its CR LF. Does nothing while
  // closed().
  IrcOutput receive_line(std::string_view line);

  // tick tells the session the time. Once the registration deadline has passed without a
  // welcome, refusal() becomes "IRC server <address>: no welcome (001) within <timeout> ms".
  void tick(TimePoint now);

  // next_deadline is the time tick() must be called by: the registration deadline while
  // registering, nullopt otherwise.
  std::optional<TimePoint> next_deadline() const;

  // send returns the PRIVMSG lines that carry |message| to the peer: one per line of a
  // multi-line message (CR and LF split it; empty lines are skipped). Throws TransportError,
  // naming the peer and the address, if the session is closed() or not registered yet, if the
  // message is longer than max_message_size() or holds a NUL byte, or if a PRIVMSG line would
  // exceed 512 bytes (only with absurdly long nicks).
  IrcOutput send(std::string_view message);

  // send_to is send() to |nick| instead of the peer (accept_any_nick clients). Throws as send()
  // does, and std::invalid_argument if |nick| is not a usable nick or names a channel.
  IrcOutput send_to(std::string_view nick, std::string_view message);

  // change_nick returns the NICK line asking the server for |nick|; the server's answer is a
  // NickChanged event (our nick is now ...) or a Server event (the nick change was refused).
  // Throws TransportError when not registered, std::invalid_argument for an unusable nick.
  IrcOutput change_nick(std::string_view nick);

  // close ends the session without an event (the caller knows): the QUIT line it returns, if
  // registered, is worth sending without waiting. closed() is then true.
  IrcOutput close();

  // server_closed records that the server closed the connection: a Closed event "IRC server
  // <address> closed the connection", followed by ": <text>" of the last ERROR if there was one.
  // connection_failed records that reading or writing failed: a Closed event with |reason|.
  // Both make closed() true and do nothing if it already was.
  IrcOutput server_closed();
  IrcOutput connection_failed(std::string reason);

  // max_message_size returns the longest message send() accepts, so that the line the server
  // relays to the peer with our full prefix in front fits in 512 bytes:
  //   512 - len(":" nick "!" "~" user "@" <63-byte host> " PRIVMSG " peer " :" CR LF),
  // 417 for nick "alice", user "otrchat", peer "bob"; at least 1 (0 would mean unlimited). With
  // accept_any_nick the peer's nick is counted as at least kAnyNickBytes long, so the limit fits
  // every nick send_to() is likely to get.
  std::size_t max_message_size() const;

  // closed returns true before start() and after close(), server_closed() or
  // connection_failed().
  bool closed() const { return m_closed; }

  // registered returns true once the welcome (001) has arrived on the current connection.
  bool registered() const { return m_registered; }

  // refusal returns why registration cannot succeed, or "" while it still can (or did).
  const std::string& refusal() const { return m_refusal; }

  // nick returns our current nick, as the server confirmed it; peer the peer's current nick;
  // server_name the name the server gave in its welcome (options.host until then).
  const std::string& nick() const { return m_nick; }
  const std::string& peer() const { return m_peer; }
  const std::string& server_name() const { return m_server; }

  // address returns the address given to start().
  const std::string& address() const { return m_address; }

 private:
  void handle(const IrcLine& line, IrcOutput& out);
  void on_ping(const IrcLine& line, IrcOutput& out);
  void on_message(const IrcLine& line, IrcOutput& out);
  void on_nick(const IrcLine& line, IrcOutput& out);
  void on_nick_in_use(const IrcLine& line, IrcOutput& out);
  void on_numeric(const IrcLine& line, IrcOutput& out);
  void on_welcome(const IrcLine& line, IrcOutput& out);
  IrcOutput end_with(std::string text);
  std::string server_text() const { return "IRC server " + m_address; }

  IrcOptions m_options;
  std::string m_address;
  std::string m_server;  // the server's own name, from the welcome
  std::string m_nick;
  std::string m_peer;
  bool m_closed = true;
  bool m_registered = false;
  int m_nick_attempts = 1;
  TimePoint m_deadline{};
  std::string m_refusal;       // why registration cannot succeed, once known
  std::string m_server_error;  // text of the last ERROR, quoted when the connection ends
  IrcLineSplitter m_splitter;
};

}  // namespace otr::transport
